-- Committed final selections (issue 17). When the last phase closes, each team's final
-- submissions for the private board — the ones it selected, or else its best public one — are
-- frozen here, and the SHA-256 of their canonical list (`holdout-selections/1`, see
-- crates/holdout-server/src/selections.rs) is recorded with its audit entry and published. From
-- then on the last phase's private board is computed from exactly these rows, and the reveal
-- recomputes the hash from them and refuses to reveal if it differs.
-- Portable SQL (SQLite and PostgreSQL).
CREATE TABLE final_selections (
    contest_id BIGINT NOT NULL REFERENCES contests (id),
    team_id BIGINT NOT NULL REFERENCES teams (id),
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    -- TRUE: the team selected it; FALSE: the team selected nothing and this is its default.
    chosen BOOLEAN NOT NULL,
    PRIMARY KEY (contest_id, submission_id)
);

CREATE TABLE selection_commitments (
    contest_id BIGINT NOT NULL PRIMARY KEY REFERENCES contests (id),
    phase TEXT NOT NULL,
    -- When that phase closed (RFC 3339 UTC), as the list says.
    closed_at TEXT NOT NULL,
    -- SHA-256 (hex) of the canonical list, as published.
    sha256 TEXT NOT NULL,
    committed_at TEXT NOT NULL,
    -- The `selection.commit` audit entry.
    audit_seq BIGINT NOT NULL,
    -- The `board.reveal` audit entry that recomputed the hash and found it unchanged.
    verified_seq BIGINT
);
