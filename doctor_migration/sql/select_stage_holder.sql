-- The session of a command of the tool that holds its stage, by the application_name every
-- transaction of the tool sets (set_transaction_settings.sql): "doctor-migration <command> <id>".
SELECT a.pid, a.application_name, a.usename, a.xact_start
FROM pg_stat_activity AS a
JOIN doctor_migration.stages AS s
  ON a.application_name = left('doctor-migration ' || s.command || ' ' || s.run_id, 63)
WHERE s.command = %(command)s AND s.run_id <> %(run_id)s
ORDER BY a.xact_start
LIMIT 1;
