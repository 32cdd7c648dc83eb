-- Other sessions' locks on the given tables, held or queued: who kept the tool waiting.
-- Tables are named as the tool's statements name them (an unqualified name resolves through
-- the search_path). A role without pg_read_all_stats sees other roles' user and application
-- but not when their transaction started (xact_start is NULL then).
SELECT t.table_name, l.pid, a.usename, a.application_name, a.xact_start, l.mode, l.granted
FROM unnest(%(tables)s::text[]) AS t(table_name)
JOIN pg_locks AS l
  ON l.locktype = 'relation'
 AND l.database = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database())
 AND l.relation = to_regclass(t.table_name)
LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.pid <> pg_backend_pid()
ORDER BY l.granted DESC, a.xact_start NULLS LAST, l.pid;
