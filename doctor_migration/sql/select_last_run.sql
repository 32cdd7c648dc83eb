-- The run an undo without a run id picks: the newest that changed doctors (inserted, updated
-- or deleted a row) and is not rolled back; and how many newer runs it passes over, because
-- they changed nothing (nothing to undo) or are rolled back already.
SELECT r.run_id, r.started_at,
       count(n.run_id) FILTER (WHERE n.inserted + n.updated + n.deleted = 0) AS newer_unchanging,
       count(n.run_id) FILTER (WHERE n.inserted + n.updated + n.deleted > 0) AS newer_rolled_back
FROM doctor_migration.runs AS r
LEFT JOIN doctor_migration.runs AS n ON (n.started_at, n.run_id) > (r.started_at, r.run_id)
WHERE r.rolled_back_at IS NULL
  AND r.inserted + r.updated + r.deleted > 0
GROUP BY r.run_id, r.started_at
ORDER BY r.started_at DESC, r.run_id DESC
LIMIT 1;
