-- Step 3.4: clean legacy ids ({clean}, as in validate_doctors.sql) that have no migrated
-- doctors row.
SELECT s.legacy_user_id
FROM {clean} AS s
WHERE NOT EXISTS (
    SELECT 1 FROM public.doctors AS d WHERE d.legacy_user_id = s.legacy_user_id
)
ORDER BY s.legacy_user_id;
