-- Runs of a third kind: a safe scale-in of an Auto Scaling group (action
-- 'scale_in': drain chosen nodes, then terminate exactly their instances), and
-- what such a run needs to resume (`params`, JSON: the nodes, their instances,
-- the sizes to end with). The CHECK is widened in place, as in 0006.
ALTER TABLE power_runs ADD COLUMN params TEXT;
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
    SET sql = replace(sql, 'CHECK (action IN (''wake'', ''sleep'', ''drain''))', 'CHECK (action IN (''wake'', ''sleep'', ''drain'', ''scale_in''))')
    WHERE type = 'table' AND name = 'power_runs';
PRAGMA writable_schema = RESET;
