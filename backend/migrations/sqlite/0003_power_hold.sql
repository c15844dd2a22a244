-- "Keep awake until": scheduled sleeps before it are skipped; at it, the
-- environment is put to sleep. One per environment.
CREATE TABLE power_hold (
    env      TEXT   PRIMARY KEY,
    until_ms BIGINT NOT NULL,
    set_by   TEXT   NOT NULL,
    set_ms   BIGINT NOT NULL
);
