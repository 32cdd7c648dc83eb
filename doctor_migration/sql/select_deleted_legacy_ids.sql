-- The first legacy ids of the migrated rows the load would delete (pg_temp.doctor_changes).
SELECT legacy_user_id FROM pg_temp.doctor_changes WHERE action = 'delete'
ORDER BY legacy_user_id
LIMIT %(limit)s;
