-- The newest stage of a command's kind other than this command's: the command that replaced
-- it, or that is using the stage this command would replace.
SELECT run_id, started_at, db_user
FROM doctor_migration.stages
WHERE command = %(command)s AND run_id <> %(run_id)s
ORDER BY started_at DESC
LIMIT 1;
