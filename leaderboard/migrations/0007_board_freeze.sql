-- The automatic board freeze (issue 17): `freeze_days` days before the last phase ends, the
-- public boards stop updating for everyone but organizers and judges — they show only
-- submissions uploaded before the freeze — until the private board is revealed; each team still
-- sees its own new scores. 0 = no freeze. Portable SQL (SQLite and PostgreSQL).
ALTER TABLE contests ADD COLUMN freeze_days BIGINT NOT NULL DEFAULT 0;
