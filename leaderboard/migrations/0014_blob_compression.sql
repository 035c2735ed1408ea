-- PostgreSQL only (issue 15): how the stored files' pieces (`blob_chunks.content`) are kept.
-- PostgreSQL's default compression, pglz, spent about 60 ms of server CPU on each 1.5 MB
-- upload in the upload-burst benchmark and then kept the file uncompressed anyway (a
-- prediction file's random ids save less than pglz's 25 % minimum); 200 uploads at once cost
-- 12 s of the database's CPU. lz4 is about six times faster and keeps what it saves. A server
-- built without lz4 keeps the files uncompressed (`STORAGE EXTERNAL`: no compression is tried
-- at all). Pieces stored before this keep their compression; PostgreSQL reads either. SQLite
-- keeps the files in the data directory and records this migration without running it.
DO $$
BEGIN
    EXECUTE 'ALTER TABLE blob_chunks ALTER COLUMN content SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    ALTER TABLE blob_chunks ALTER COLUMN content SET STORAGE EXTERNAL;
END
$$;
