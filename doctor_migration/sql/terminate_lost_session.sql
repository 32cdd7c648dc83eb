-- After a lost connection: end the tool's own orphaned session (same pid and the same
-- application_name, which carries the run id), so its transaction rolls back now and its
-- locks are freed. Never another session.
SELECT pg_terminate_backend(a.pid)
FROM pg_stat_activity AS a
WHERE a.pid = %(pid)s
  AND a.application_name = %(application_name)s;
