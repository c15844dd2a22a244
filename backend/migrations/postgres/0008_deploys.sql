-- Deploys: the git history mezame indexes incrementally (never walked per
-- request) and the Argo CD syncs it observes (Argo CD keeps only 10).
-- Same tables as migrations/sqlite/0008_deploys.sql.
CREATE TABLE git_commits (
    repo          TEXT    NOT NULL,            -- 'manifests' or 'app:<ms>'
    sha           TEXT    NOT NULL,
    parents       TEXT    NOT NULL,            -- space-separated
    author        TEXT    NOT NULL,            -- 'Name <email>'
    authored_ms   BIGINT  NOT NULL,
    committer     TEXT    NOT NULL,
    committed_ms  BIGINT  NOT NULL,
    subject       TEXT    NOT NULL,
    trailers_json TEXT    NOT NULL,            -- [[key, value], ...]
    PRIMARY KEY (repo, sha)
);
-- What each repository was indexed up to: its refs' commits then.
CREATE TABLE git_refs (
    repo TEXT NOT NULL,
    name TEXT NOT NULL,
    sha  TEXT NOT NULL,
    PRIMARY KEY (repo, name)
);
-- The deployed branch's first-parent line: its order decides which sync
-- contains which manifest commit.
CREATE TABLE manifest_line (
    sha TEXT   PRIMARY KEY,
    seq BIGINT NOT NULL UNIQUE
);
-- A manifest commit that changed a microservice's image in an environment.
CREATE TABLE deploys (
    sha          TEXT   NOT NULL,
    env          TEXT   NOT NULL,
    ms           TEXT   NOT NULL,
    seq          BIGINT NOT NULL,
    tag          TEXT   NOT NULL,
    previous_tag TEXT,
    files_json   TEXT   NOT NULL,
    at_ms        BIGINT NOT NULL,              -- when it reached the branch
    PRIMARY KEY (sha, env, ms)
);
CREATE INDEX deploys_env_seq ON deploys (env, seq);
CREATE INDEX deploys_ms ON deploys (ms, env, seq);
-- Argo CD sync history entries as observed (an Application's own history is
-- trimmed to 10 and lost when it is re-created).
CREATE TABLE argocd_syncs (
    env          TEXT   NOT NULL,
    app          TEXT   NOT NULL,
    path         TEXT   NOT NULL,              -- the Application's source path
    revision     TEXT   NOT NULL,
    finished_ms  BIGINT NOT NULL,
    history_id   BIGINT NOT NULL,
    started_ms   BIGINT,
    initiated_by TEXT,                         -- NULL: automated
    PRIMARY KEY (env, app, revision, finished_ms)
);
