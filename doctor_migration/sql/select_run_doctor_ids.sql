SELECT r.doctor_id
FROM doctor_migration.row_changes AS r
WHERE r.run_id = %(run_id)s AND r.action = %(action)s;
