-- Sign-in (issue 12). A session remembers when it began and was last seen
-- (its expires_at is the sooner of the idle and the absolute limit), and the
-- device it was opened from, for the list of one's sessions. A one-time
-- code also carries the keyed hash of its one-click sign-in link.
ALTER TABLE sessions ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN ip TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_user_id ON sessions (user_id);

ALTER TABLE one_time_codes ADD COLUMN link_hash TEXT;
CREATE UNIQUE INDEX one_time_codes_link_hash ON one_time_codes (link_hash);
