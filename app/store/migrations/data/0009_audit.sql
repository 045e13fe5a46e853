-- The admin panel's audit log (issue 12): who did what, when, from where.
-- Kept with the content (replicated, backed up); never edited.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL, -- unix seconds
    user_id INTEGER NOT NULL,
    address TEXT NOT NULL,    -- the user's address at the time
    action  TEXT NOT NULL,    -- e.g. "post.publish", "media.delete"
    target  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '',
    ip      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
