-- Node interruptions (spot interruption notices, rebalance recommendations)
-- as mezame noticed them, kept across restarts; every replica records the
-- same ones, the first write wins. Same table as migrations/sqlite/0011_interruptions.sql.
CREATE TABLE node_interruptions (
    env    TEXT   NOT NULL,
    node   TEXT   NOT NULL,
    kind   TEXT   NOT NULL,                    -- spot_interruption | rebalance_recommendation
    at_ms  BIGINT NOT NULL,
    json   TEXT   NOT NULL,                    -- mezame_shared::capacity::Interruption
    PRIMARY KEY (env, node, kind)
);
CREATE INDEX node_interruptions_at ON node_interruptions (env, at_ms);
