-- This command's stage (a re-execution of the same run finds it there already).
INSERT INTO doctor_migration.stages (run_id, command)
VALUES (%(run_id)s, %(command)s)
ON CONFLICT (run_id) DO NOTHING;
