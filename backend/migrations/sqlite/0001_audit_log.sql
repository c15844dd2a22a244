-- The audit log: one row per action taken through the panel.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       BIGINT  NOT NULL,            -- Unix time, milliseconds
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    env         TEXT,
    target      TEXT,
    before_json TEXT,                        -- JSON
    after_json  TEXT,                        -- JSON
    outcome     TEXT    NOT NULL CHECK (outcome IN ('ok', 'error')),
    message     TEXT
);
CREATE INDEX audit_log_env_id ON audit_log (env, id);
