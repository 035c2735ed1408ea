-- A refused submission's problems as data (issue 16): the JSON array of
-- `holdout_score::problem::Problem` (each a code with its parameters, a count and the first
-- places), so the site and the API render them in the reader's language. `message` keeps the
-- English rendering. NULL for valid, scored and failed submissions, and for rows refused before
-- this migration (they show their stored English message).
ALTER TABLE submissions ADD COLUMN problems TEXT;
