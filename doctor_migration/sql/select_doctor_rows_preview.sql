-- doctor_rows' metadata: the first rows, as the plan orders them (most patients first); ids
-- and derived values only.
SELECT legacy_user_id, doctor_number, years_experience, licensed_since
FROM doctor_migration.doctor_rows
WHERE run_id = %(run_id)s
ORDER BY (migration_metadata ->> 'source_patient_count')::bigint DESC, legacy_user_id
LIMIT %(limit)s;
