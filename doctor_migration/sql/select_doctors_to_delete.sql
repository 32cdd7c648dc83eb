-- The migrated rows the load will delete (their references are checked first).
SELECT doctor_id FROM doctor_changes WHERE action = 'delete';
