-- A command replaces the stage of every earlier command of its kind (a run the last run's, a
-- plan the last plan's), finished or killed: the stage keeps the latest run and the latest plan.
DELETE FROM doctor_migration.stages
WHERE command = %(command)s AND run_id <> %(run_id)s
RETURNING run_id;
