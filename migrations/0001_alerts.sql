-- Gateway worker schema: the alert rules' state (src/gateway/alerts.py). Times are RFC 3339
-- UTC strings ('YYYY-MM-DDTHH:MM:SS.mmmZ'), so comparing them as text compares them as times.

-- One row per incident: a rule started firing at started_at and resolved at resolved_at
-- (NULL while it fires). At most one open incident per rule, enforced here, so two
-- evaluations that overlap cannot open (and announce) the same incident twice.
-- value: the worst value seen while it fired.
-- fired_delivery / resolved_delivery: the alert POST of each transition: 'pending' until
--   ALERT_WEBHOOK_URL accepted it, then 'sent'; 'off' when no URL was set at the time.
--   resolved_delivery is NULL while the incident is open.
CREATE TABLE alert_incidents (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    started_at TEXT NOT NULL,
    resolved_at TEXT,
    value REAL NOT NULL,
    fired_delivery TEXT NOT NULL CHECK (fired_delivery IN ('pending', 'sent', 'off')),
    resolved_delivery TEXT CHECK (resolved_delivery IN ('pending', 'sent', 'off'))
);
CREATE UNIQUE INDEX alert_incidents_one_open ON alert_incidents (rule) WHERE resolved_at IS NULL;
CREATE INDEX alert_incidents_started ON alert_incidents (started_at DESC, id DESC);

-- The last evaluation of each rule: its value (NULL: not enough data, or unreadable),
-- since when its state holds, and when it was evaluated.
CREATE TABLE alert_rules (
    rule TEXT PRIMARY KEY,
    value REAL,
    since TEXT NOT NULL,
    evaluated_at TEXT NOT NULL
);
