-- Account erasure (issue 18): the journal of each deleted account's erasure workflow, read
-- by GET /api/admin/erasures/{user_id} beside the workflow instance's own status. It keeps
-- the erased account's id (a random id, linked to nobody once the account row is purged)
-- as the record that the erasure ran. Additive: new tables only.
CREATE TABLE erasures (
    user_id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,         -- the Workflow instance: erase-<user id>
    created_at TEXT NOT NULL,          -- RFC 3339 UTC, the DELETE
    finished_at TEXT                   -- when it completed, or errored for good
);
-- Unfinished erasures, oldest first: what the users cron sweeps for stuck ones.
CREATE INDEX erasures_unfinished ON erasures (created_at) WHERE finished_at IS NULL;

-- One row per step that has started; each attempt of a step adds one to attempts.
CREATE TABLE erasure_steps (
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'waiting', 'complete', 'errored')),
    attempts INTEGER NOT NULL,
    started_at TEXT NOT NULL,          -- its first attempt
    finished_at TEXT,
    error TEXT,                        -- the last failed attempt's error
    PRIMARY KEY (user_id, name)
);
