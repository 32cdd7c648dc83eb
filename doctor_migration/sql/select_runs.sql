-- The ledger's runs, newest first.
SELECT r.run_id, r.started_at, r.finished_at, r.db_user, r.os_user, r.tool_version,
       r.expected_count, r.clean_count, r.inserted, r.updated, r.deleted, r.unchanged,
       r.rolled_back_at, r.rolled_back_by
FROM doctor_migration.runs AS r
ORDER BY r.started_at DESC, r.run_id
LIMIT %(limit)s;
