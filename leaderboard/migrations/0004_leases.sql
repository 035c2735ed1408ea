-- The scoring queue's leases, so that any number of workers in any number of processes share
-- one queue. A claim sets `lease_token` (random, the claim's own) and `lease_until` (RFC 3339
-- UTC); the worker renews `lease_until` while it scores. Once the lease has expired (its worker
-- died or stalled) any worker may claim the row again, with a new token; a result is recorded
-- only under the token of the claim that holds the row. A `scoring` row without a lease (left
-- by an older holdout) counts as expired.
ALTER TABLE submissions ADD COLUMN lease_until TEXT;
ALTER TABLE submissions ADD COLUMN lease_token TEXT;
