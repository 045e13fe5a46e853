-- A passkey ceremony in progress (issue 12): go-webauthn's session data
-- (the challenge) between its two steps, under the keyed hash of a random
-- id the browser holds in a short-lived cookie. user_id is the user adding
-- a passkey, 0 for a sign-in.
CREATE TABLE webauthn_ceremonies (
    id_hash    TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL DEFAULT 0,
    data       TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX webauthn_ceremonies_expires_at ON webauthn_ceremonies (expires_at);
