-- Promotions and rollbacks mezame committed (a branch's stays pending until
-- it reaches the deployed branch), and the freezes rollbacks leave.
-- Same tables as migrations/postgres/0010_deploy_changes.sql.
CREATE TABLE deploy_changes (
    sha         TEXT   PRIMARY KEY,            -- the manifest commit mezame pushed
    env         TEXT   NOT NULL,
    ms          TEXT   NOT NULL,
    at_ms       BIGINT NOT NULL,
    change_json TEXT   NOT NULL,               -- mezame_shared::deploys::DeployChange
    merged_ms   BIGINT                         -- when it was seen on the deployed branch
);
CREATE INDEX deploy_changes_pending ON deploy_changes (env, merged_ms);
-- Promotions of a microservice into an environment stopped by a rollback.
CREATE TABLE deploy_freezes (
    env         TEXT NOT NULL,
    ms          TEXT NOT NULL,
    freeze_json TEXT NOT NULL,                 -- mezame_shared::deploys::Freeze
    PRIMARY KEY (env, ms)
);
