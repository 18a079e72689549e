-- Sessions (issue 20): refresh-token families, their tokens, and per-account login
-- throttling. Additive: new tables and indexes only.

-- One row per login: the refresh-token family every rotation of that login belongs to.
-- Revoking a session (logout, reuse of a spent token, password change, account
-- deletion) stamps revoked_at; every token of the family dies with it.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at TEXT NOT NULL,          -- RFC 3339 UTC
    revoked_at TEXT
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens, stored only as the SHA-256 of the token (256 random bits: a fast
-- hash is enough, and a leaked table opens no session). spent_at is set when the
-- token is exchanged for replaced_by; a spent token presented again revokes its session.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,       -- hex SHA-256 of the token
    session_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    spent_at TEXT,
    replaced_by TEXT                   -- token_hash of its successor
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Failed logins per email (the key is the hex SHA-256 of the normalised email, so the
-- table holds no address, known or not). Times are epoch seconds. A row exists only
-- while an email has failures that count; a success deletes it.
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,         -- failures in the current series
    window_ends INTEGER NOT NULL,      -- a failure after this starts a new series
    locked_until INTEGER NOT NULL DEFAULT 0  -- logins answer 429 until then
);
CREATE INDEX login_failures_window ON login_failures (window_ends);
