-- Stored files in the database (issue 15), so that a service replica or a scoring worker needs
-- only the database URL. With PostgreSQL every uploaded file, each contest's public files, its
-- solution, salt and receipt key are kept here under their SHA-256, and each process keeps a
-- local copy of what it reads (fetched once, checked against the hash). With SQLite the data
-- directory keeps the files as before and `blobs` stays empty; `contest_files` lists a
-- contest's files on both.
-- Portable SQL except `BLOB`, which the PostgreSQL migration spells `BYTEA` (`db::dialect`).
CREATE TABLE blobs (
    sha256 TEXT NOT NULL PRIMARY KEY,
    bytes BIGINT NOT NULL,
    content BLOB NOT NULL
);

-- A contest's files by their path under its directory (`public/test.csv`,
-- `private/solution.csv`, `keys/receipt.key`, …).
CREATE TABLE contest_files (
    contest_id BIGINT NOT NULL REFERENCES contests (id),
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (contest_id, path)
);
