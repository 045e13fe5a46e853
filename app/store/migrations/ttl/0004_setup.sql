-- The first-start setup link (issue 12): while the site has no admin, a
-- start-up prints a link, valid an hour, that makes whoever opens it (once
-- signed in) the first admin. Only its keyed hash is kept.
CREATE TABLE setup_links (
    id_hash    TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX setup_links_expires_at ON setup_links (expires_at);
