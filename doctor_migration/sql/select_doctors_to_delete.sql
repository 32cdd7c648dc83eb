-- The migrated rows the load will delete (their references are checked first).
SELECT doctor_id FROM pg_temp.doctor_changes WHERE action = 'delete';
