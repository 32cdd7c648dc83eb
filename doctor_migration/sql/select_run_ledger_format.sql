SELECT r.ledger_format
FROM doctor_migration.runs AS r
WHERE r.run_id = %(run_id)s;
