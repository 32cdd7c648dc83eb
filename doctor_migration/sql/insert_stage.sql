-- This command's stage (a re-execution of the same run finds it there already), used by the
-- Dagster run that starts it.
INSERT INTO doctor_migration.stages (run_id, command, used_by)
VALUES (%(run_id)s, %(command)s, %(used_by)s)
ON CONFLICT (run_id) DO NOTHING;
