-- After a failed run: did its load commit? The ledger's runs row is written in the load's
-- own transaction, so it exists exactly when the load committed.
SELECT EXISTS (SELECT 1 FROM doctor_migration.runs AS r WHERE r.run_id = %(run_id)s) AS committed;
