-- The replica driving a running run holds a lease on it, renewed while it
-- works; another replica takes a run over only once its lease has expired
-- (its runner crashed), so two replicas never drive the same run.
ALTER TABLE power_runs ADD COLUMN runner TEXT;
ALTER TABLE power_runs ADD COLUMN lease_until_ms BIGINT;
