-- The session of the tool that holds the migration's advisory lock, if any.
SELECT a.pid, a.application_name, a.usename, a.xact_start
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.granted
  AND l.objid = (%(key)s::bigint & 4294967295)::oid
  AND a.pid <> pg_backend_pid();
