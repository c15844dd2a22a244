-- Runs of another kind: a node's drain (action 'drain'), with what the run
-- acts on besides its environment (`target`: the node).
ALTER TABLE power_runs DROP CONSTRAINT power_runs_action_check;
ALTER TABLE power_runs ADD CONSTRAINT power_runs_action_check CHECK (action IN ('wake', 'sleep', 'drain'));
ALTER TABLE power_runs ADD COLUMN target TEXT;
