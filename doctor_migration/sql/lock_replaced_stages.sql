-- The stages this command will replace (select_stage_replacement.sql's kind), locked at once or
-- not at all: a command of the same kind still working in one holds it (lock_stage.sql), and
-- this command then refuses instead of waiting.
SELECT run_id FROM doctor_migration.stages
WHERE command = %(command)s AND run_id <> %(run_id)s
FOR UPDATE NOWAIT;
