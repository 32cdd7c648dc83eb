-- What the ledger's runs did to one legacy user's doctors row, newest first.
SELECT c.run_id, c.action, r.started_at, r.rolled_back_at IS NOT NULL AS rolled_back
FROM doctor_migration.row_changes AS c
JOIN doctor_migration.runs AS r ON r.run_id = c.run_id
WHERE c.legacy_user_id = %(user_id)s
ORDER BY r.started_at DESC
LIMIT 5;
