-- Sessions of this database with an open transaction that holds a snapshot or an xid: CREATE
-- INDEX CONCURRENTLY waits until every one older than its own has ended.
SELECT a.pid, a.usename, a.application_name, a.xact_start
FROM pg_stat_activity AS a
WHERE a.datname = current_database()
  AND a.pid <> pg_backend_pid()
  AND a.backend_type = 'client backend'
  AND (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL)
ORDER BY a.xact_start NULLS LAST, a.pid;
