-- Argo CD Applications' health as observed through the watch: one row per
-- transition (status.health.lastTransitionTime), kept after the Application
-- recovers, so a deploy that went Degraded within minutes counts as failed.
-- Same table in migrations/sqlite and migrations/postgres.
CREATE TABLE argocd_health (
    env     TEXT   NOT NULL,
    app     TEXT   NOT NULL,
    path    TEXT   NOT NULL,              -- the Application's source path
    status  TEXT   NOT NULL,              -- Healthy | Progressing | Degraded | ...
    at_ms   BIGINT NOT NULL,
    PRIMARY KEY (env, app, status, at_ms)
);
CREATE INDEX argocd_health_path ON argocd_health (env, path, status, at_ms);
