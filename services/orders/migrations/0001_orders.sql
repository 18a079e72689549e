-- Orders worker schema. Money is integer cents; times are RFC 3339 UTC strings
-- ('YYYY-MM-DDTHH:MM:SS.mmmZ'), so comparing them as text compares them as times.

-- Orders and their lines (items is the JSON list of {sku, quantity, unit_price_cents}).
-- event_id: the id of this order's order.created event, reused by every (re)publish so
--   receivers can drop duplicates.
-- published_at: set once the event reached the queue; the scheduled job re-publishes
--   pending orders whose publish never succeeded.
-- notified_at: set once the webhook accepted the event, so redeliveries don't POST again.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled', 'expired')),
    items TEXT NOT NULL,
    total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
    currency TEXT NOT NULL,
    request_id TEXT,
    event_id TEXT NOT NULL,
    published_at TEXT,
    notified_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX orders_user_created ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_created ON orders (created_at DESC, id DESC);
CREATE INDEX orders_status_created ON orders (status, created_at);

-- Idempotency-Key records, one per (caller, key). A request claims its key with a single
-- INSERT that the primary key lets succeed only once; the first response is stored with it.
CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status INTEGER,
    response_body TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- The last failure of each event the consumers could not process, read when the event
-- reaches the dead-letter queue (whose message carries only the original body).
CREATE TABLE delivery_failures (
    event_id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Messages that exhausted their retries; id is the dead-letter message's id, so a
-- redelivered dead letter is recorded once. replayed_at is set when an admin replays it.
CREATE TABLE dead_letters (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT,
    time TEXT NOT NULL,
    replayed_at TEXT
);
CREATE INDEX dead_letters_time ON dead_letters (time DESC, id DESC);

-- One summary per scheduled maintenance run (counts and errors are JSON).
CREATE TABLE maintenance_runs (
    id TEXT PRIMARY KEY,
    worker TEXT NOT NULL,
    job TEXT NOT NULL,
    cron TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    counts TEXT NOT NULL,
    errors TEXT NOT NULL
);
CREATE INDEX maintenance_runs_started ON maintenance_runs (worker, started_at DESC, id DESC);
