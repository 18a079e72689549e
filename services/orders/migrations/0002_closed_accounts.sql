-- Closed accounts (issue 20): users whose DELETE was answered. The gateway writes the
-- row before it answers the DELETE, and the user.deleted consumer writes it again
-- (idempotently). Order creation and cancellation refuse these users on the write
-- path they already run. Additive: one new table.
CREATE TABLE closed_accounts (
    user_id TEXT PRIMARY KEY,
    closed_at TEXT NOT NULL            -- RFC 3339 UTC
);
