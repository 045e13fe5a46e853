-- Short-lived records; every table has expires_at (unix seconds). The cron
-- role deletes expired rows daily and reads treat them as absent.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE one_time_codes (
    address    TEXT PRIMARY KEY,
    code_hash  TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX one_time_codes_expires_at ON one_time_codes (expires_at);

CREATE TABLE rate_limits (
    key        TEXT PRIMARY KEY,
    count      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);
