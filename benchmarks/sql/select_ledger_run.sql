-- What one run of the tool wrote, from its ledger.
SELECT r.inserted, r.updated, r.deleted, r.unchanged
FROM doctor_migration.runs AS r
WHERE r.run_id = %(run_id)s
