-- People's accounts for the pages. Each acts through its own row of api_keys, whose secret nobody
-- holds, so that every write and audit entry names its actor as a key's do and revoking that row
-- disables the account.
CREATE TABLE accounts (
    name           TEXT PRIMARY KEY NOT NULL,
    actor_id       TEXT NOT NULL UNIQUE REFERENCES api_keys (id),
    password_hash  TEXT NOT NULL,
    failures       INTEGER NOT NULL DEFAULT 0,
    locked_until   TIMESTAMP,
    created_at     TIMESTAMP NOT NULL
);

-- Signed-in sessions: only a SHA-256 of the cookie is kept; the form token is checked on every form.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    account     TEXT NOT NULL REFERENCES accounts (name),
    csrf        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account);
