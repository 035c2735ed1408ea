-- The hash-chained audit log: every upload, score, status change, judge action, phase change,
-- reveal and leaderboard snapshot. Each entry carries the SHA-256 of the one before it, so a
-- changed, removed, inserted or reordered row breaks the chain (`holdout audit verify`).
-- Portable SQL (SQLite and PostgreSQL): no AUTOINCREMENT, times as RFC 3339 UTC text.
CREATE TABLE audit_log (
    seq BIGINT NOT NULL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
