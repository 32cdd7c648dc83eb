-- The newest run that has not been rolled back.
SELECT r.run_id
FROM doctor_migration.runs AS r
WHERE r.rolled_back_at IS NULL
ORDER BY r.started_at DESC, r.run_id DESC
LIMIT 1;
