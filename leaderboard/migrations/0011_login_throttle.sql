-- Failed logins (issue 16), counted here so a restart forgets nothing: per account (the name
-- tried, whether or not it exists, so the answers tell no one which names exist) and per client
-- address (wrong passwords for any names and unknown API tokens). Past a number of free
-- failures each further one blocks the key for twice as long as the one before, up to a cap
-- (`crate::throttle`); a successful login clears its account's row, an organizer clears any.
CREATE TABLE login_failures (
    scope TEXT NOT NULL CHECK (scope IN ('account', 'address')),
    -- The account's name or the address's text.
    name TEXT NOT NULL,
    -- Failures in a row; a failure more than a day after the last one starts again from 1.
    failures BIGINT NOT NULL,
    last_failure_at TEXT NOT NULL,
    -- Attempts are refused (429) before this time (RFC 3339 UTC); NULL: not blocked.
    blocked_until TEXT,
    PRIMARY KEY (scope, name)
);
