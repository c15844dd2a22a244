-- Notifications to webhooks ([[env.notify]]): an outbox. A message is queued
-- once per (environment, event, target) — replicas queueing the same event
-- keep the first — and delivered by whichever replica claims it, retried with
-- backoff. Same table as migrations/postgres/0012_notifications.sql.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    env         TEXT    NOT NULL,
    event_key   TEXT    NOT NULL,              -- run:42:succeeded | sleep-soon:<time of the sleep>
    target      TEXT    NOT NULL,              -- the [[env.notify]] entry's name
    run_id      BIGINT,
    body        TEXT    NOT NULL,              -- what is posted (JSON)
    created_ms  BIGINT  NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_ms     BIGINT  NOT NULL,              -- not tried again before
    sent_ms     BIGINT,
    gave_up     INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    UNIQUE (env, event_key, target)
);
CREATE INDEX notifications_due ON notifications (sent_ms, gave_up, next_ms);
CREATE INDEX notifications_run ON notifications (run_id);
