-- Other sessions holding a lock on public.doctors (to name who blocks the load).
SELECT DISTINCT a.pid, a.usename, a.application_name, a.state, a.query_start, a.xact_start
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.relation = 'public.doctors'::regclass
  AND l.granted
  AND a.pid <> pg_backend_pid()
ORDER BY a.xact_start NULLS LAST;
