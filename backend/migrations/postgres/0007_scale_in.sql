-- Runs of a third kind: a safe scale-in of an Auto Scaling group (action
-- 'scale_in': drain chosen nodes, then terminate exactly their instances), and
-- what such a run needs to resume (`params`, JSON: the nodes, their instances,
-- the sizes to end with).
ALTER TABLE power_runs DROP CONSTRAINT power_runs_action_check;
ALTER TABLE power_runs ADD CONSTRAINT power_runs_action_check CHECK (action IN ('wake', 'sleep', 'drain', 'scale_in'));
ALTER TABLE power_runs ADD COLUMN params TEXT;
