-- Runs of another kind: a node's drain (action 'drain'), with what the run
-- acts on besides its environment (`target`: the node).
ALTER TABLE power_runs ADD COLUMN target TEXT;
-- SQLite cannot alter a CHECK constraint, and rebuilding power_runs inside the
-- transaction sqlx runs a migration in would break power_steps' foreign key
-- (foreign keys cannot be turned off in a transaction). Widening a CHECK
-- leaves every stored row valid, so SQLite's documented in-place procedure
-- applies: the definition is edited in sqlite_schema, then the schema is read
-- again (RESET) by this connection, and by the others at their next statement.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
    SET sql = replace(sql, 'CHECK (action IN (''wake'', ''sleep''))', 'CHECK (action IN (''wake'', ''sleep'', ''drain''))')
    WHERE type = 'table' AND name = 'power_runs';
PRAGMA writable_schema = RESET;
