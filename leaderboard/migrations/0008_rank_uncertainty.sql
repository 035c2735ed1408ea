-- Rank uncertainty of a phase's private board (issue 17): every ranked team's final submission
-- scored on the same bootstrap replicates (the contest's seed), ranked per replicate; the result
-- (P(rank = 1), the 95 % rank interval, the teams not distinguishable from the leader) is kept
-- per phase with the SHA-256 of what it was computed from — the board's submissions, their
-- files and scores, the metric, subset, seed and number of replicates — and computed again when
-- that changes (a rescore, a disqualification, a new selection before the close). A cache of a
-- pure function of recorded data: not audited. Portable SQL (SQLite and PostgreSQL).
CREATE TABLE rank_uncertainty (
    contest_id BIGINT NOT NULL REFERENCES contests(id),
    phase TEXT NOT NULL,
    inputs_sha256 TEXT NOT NULL,
    computed_at TEXT NOT NULL,
    -- The API's RankUncertaintyView as JSON.
    result TEXT NOT NULL,
    PRIMARY KEY (contest_id, phase)
);
