-- Sign-in: sessions (shared by replicas, revocable), logins in progress
-- (the PKCE verifier and nonce between /auth/login and /auth/callback), and
-- API tokens. Secrets are stored as SHA-256 hashes only.
-- Same tables as migrations/postgres/0005_auth.sql.
CREATE TABLE auth_sessions (
    id           TEXT    PRIMARY KEY,          -- public id (listing, revoking)
    secret_hash  TEXT    NOT NULL UNIQUE,      -- SHA-256 of the cookie's secret
    username     TEXT    NOT NULL,
    groups_json  TEXT    NOT NULL,
    created_ms   BIGINT  NOT NULL,
    last_seen_ms BIGINT  NOT NULL,
    expires_ms   BIGINT  NOT NULL,             -- absolute end
    user_agent   TEXT
);
CREATE INDEX auth_sessions_user ON auth_sessions (username);
CREATE TABLE auth_logins (
    state_hash  TEXT    PRIMARY KEY,           -- SHA-256 of the OAuth `state`
    verifier    TEXT    NOT NULL,              -- PKCE code verifier
    nonce       TEXT    NOT NULL,
    return_to   TEXT    NOT NULL,
    created_ms  BIGINT  NOT NULL
);
CREATE TABLE api_tokens (
    id                TEXT    PRIMARY KEY,
    name              TEXT    NOT NULL,
    owner             TEXT    NOT NULL,
    owner_groups_json TEXT    NOT NULL,         -- the owner's groups when it was made (its role is capped by theirs)
    role              TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    envs_json         TEXT    NOT NULL,
    secret_hash       TEXT    NOT NULL UNIQUE,
    created_ms        BIGINT  NOT NULL,
    expires_ms        BIGINT  NOT NULL,
    revoked_ms        BIGINT,
    last_used_ms      BIGINT
);
CREATE INDEX api_tokens_owner ON api_tokens (owner);
-- Leases on the database's clock, with a fencing token: each takeover of a
-- run increments `fence`, and a runner's writes carry the fence it holds, so
-- a runner that lost its lease cannot write over its successor's steps.
ALTER TABLE power_runs ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
