-- Accounts. Emails are stored lower-cased; a soft delete sets deleted_at and the
-- scheduled purge removes the row USER_PURGE_AFTER_SECONDS later.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin')),
    password_hash TEXT NOT NULL,       -- hex PBKDF2-HMAC-SHA256 key
    password_salt TEXT NOT NULL,       -- hex, 16 random bytes per user
    password_iterations INTEGER NOT NULL,
    created_at TEXT NOT NULL,          -- RFC 3339 UTC, milliseconds: sorts as text
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
-- One live account per email: registration relies on this index (INSERT ... ON
-- CONFLICT DO NOTHING), so two racing sign-ups cannot both win. A soft-deleted
-- account frees its email.
CREATE UNIQUE INDEX users_live_email ON users (email) WHERE deleted_at IS NULL;
-- Keyset pagination of GET /api/users.
CREATE INDEX users_created ON users (created_at, id);
-- The purge job's scan.
CREATE INDEX users_deleted ON users (deleted_at) WHERE deleted_at IS NOT NULL;

-- One row per scheduled job run (GET /api/admin/maintenance-runs).
CREATE TABLE maintenance_runs (
    id TEXT PRIMARY KEY,
    worker TEXT NOT NULL,
    job TEXT NOT NULL,
    cron TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    counts TEXT NOT NULL DEFAULT '{}',  -- JSON object: task -> count
    errors TEXT NOT NULL DEFAULT '[]'   -- JSON list of strings
);
CREATE INDEX maintenance_runs_started ON maintenance_runs (worker, started_at);
