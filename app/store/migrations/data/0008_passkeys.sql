-- Passkeys (issue 12): WebAuthn credentials a user added after signing in
-- with a code. credential is go-webauthn's Credential as JSON (public key,
-- sign count, flags); credential_id is its id, base64url, for lookups.
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_at    INTEGER NOT NULL, -- unix seconds
    last_used_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);
