-- Judges' scores for the finalists' write-ups and presentations (决赛答辩), combined with the
-- private board into the final ranking with a configurable weight.
CREATE TABLE rubric_scores (
    contest_id BIGINT NOT NULL REFERENCES contests (id),
    team_id BIGINT NOT NULL REFERENCES teams (id),
    judge_id BIGINT NOT NULL REFERENCES users (id),
    score DOUBLE PRECISION NOT NULL CHECK (score >= 0 AND score <= 100),
    comment TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (contest_id, team_id, judge_id)
);

ALTER TABLE contests ADD COLUMN rubric_weight DOUBLE PRECISION NOT NULL DEFAULT 0.3;
ALTER TABLE contests ADD COLUMN finalists BIGINT NOT NULL DEFAULT 10;
