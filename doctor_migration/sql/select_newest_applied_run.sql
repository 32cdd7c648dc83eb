-- The newest run that committed and is not rolled back: the state the target should be in,
-- as the checks of loaded_doctors executed on their own see it. Its run_digests rows say which
-- legacy users were clean and what their migrated rows held (none for a run recorded by a
-- version before run_digests).
SELECT r.run_id, r.lookup_legacy_id, r.native_after,
       EXISTS (SELECT 1 FROM doctor_migration.run_digests AS g WHERE g.run_id = r.run_id)
           OR r.clean_count = 0 AS digested
FROM doctor_migration.runs AS r
WHERE r.finished_at IS NOT NULL AND r.rolled_back_at IS NULL
ORDER BY r.started_at DESC
LIMIT 1;
