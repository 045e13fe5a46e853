-- Permanent redirects left when the admin changes the path of an entry
-- readers could already see (issue 12): the public site answers a request
-- for from_path, which no page serves any longer, with a 301 to to_path.
-- Chains are collapsed as they are written (A→B then B→C leaves A→C and
-- B→C), and an entry that takes a path removes the redirect from it.
CREATE TABLE redirects (
    from_path  TEXT PRIMARY KEY,
    to_path    TEXT    NOT NULL,
    created_at INTEGER NOT NULL  -- unix seconds
) WITHOUT ROWID;
CREATE INDEX redirects_to ON redirects (to_path);

-- The admin's list of every entry, newest change first: it walks this
-- index in order and stops after a page; with the filters' columns in it,
-- filtering and counting never read the entries' rows (their bodies are
-- large) except the page's own.
CREATE INDEX posts_admin ON posts (updated_at, id, kind, status, published_at);
