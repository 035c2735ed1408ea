-- Stored files in pieces (issue 15). A file in `blobs` is kept as pieces of at most 8 MiB in
-- `blob_chunks` (`seq` from 0), stored in one transaction with its `blobs` row, which is
-- written last: a file is in the database whole or not at all. A process stores or fetches one
-- piece at a time, so no file is ever held whole in memory, and no file meets PostgreSQL's
-- 1 GB limit on one value (a national contest's training set comes near it).
-- Files stored before this become one piece each.
CREATE TABLE blob_chunks (
    sha256 TEXT NOT NULL,
    seq BIGINT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (sha256, seq)
);

INSERT INTO blob_chunks (sha256, seq, content) SELECT sha256, 0, content FROM blobs;

ALTER TABLE blobs DROP COLUMN content;
