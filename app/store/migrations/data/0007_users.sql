-- Accounts (issue 12). A user is known by one verified address: an email
-- address (lower-cased) or a phone number in E.164 form. A reader is anyone
-- who verified an address; an admin is a reader granted the role, by
-- `site admin add` or the first-start setup link.
CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    address      TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL DEFAULT 'reader' CHECK (role IN ('reader', 'admin')),
    display_name TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL -- unix seconds
);
