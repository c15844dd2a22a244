-- Power (wake/sleep): settings per environment, the restore point a sleep
-- leaves for the next wake, and runs with their steps.
CREATE TABLE power_settings (
    env           TEXT    PRIMARY KEY,
    settings_json TEXT    NOT NULL,
    updated_ms    BIGINT  NOT NULL,
    updated_by    TEXT    NOT NULL
);
CREATE TABLE power_restore (
    env         TEXT    PRIMARY KEY,
    record_json TEXT    NOT NULL,          -- what sleep changed, as it was before
    backup      TEXT,                      -- Argo CD settings (JSON, Secrets sealed)
    updated_ms  BIGINT  NOT NULL
);
CREATE TABLE power_runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    env              TEXT    NOT NULL,
    action           TEXT    NOT NULL CHECK (action IN ('wake', 'sleep')),
    state            TEXT    NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled')),
    actor            TEXT    NOT NULL,
    created_ms       BIGINT  NOT NULL,
    finished_ms      BIGINT,
    message          TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
-- One active run per environment, whatever the number of replicas.
CREATE UNIQUE INDEX power_runs_one_active ON power_runs (env) WHERE state = 'running';
CREATE INDEX power_runs_env_id ON power_runs (env, id);
CREATE TABLE power_steps (
    run_id       BIGINT  NOT NULL REFERENCES power_runs (id),
    idx          INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    started_ms   BIGINT,
    finished_ms  BIGINT,
    waited_ms    BIGINT  NOT NULL DEFAULT 0,  -- time spent waiting on the cloud or the cluster
    message      TEXT,
    changed_json TEXT,
    PRIMARY KEY (run_id, idx)
);
