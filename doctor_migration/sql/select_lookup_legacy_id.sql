-- Step 4.2's example: the staged doctor with the most patients (the first the plan inserts).
SELECT legacy_user_id FROM pg_temp.doctor_stage
ORDER BY (migration_metadata::jsonb ->> 'source_patient_count')::bigint DESC, legacy_user_id
LIMIT 1;
