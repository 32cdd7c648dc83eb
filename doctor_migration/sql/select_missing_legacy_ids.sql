-- Step 3.4: clean legacy ids that have no migrated doctors row.
SELECT wanted.legacy_user_id
FROM unnest(%(legacy_ids)s::bigint[]) AS wanted(legacy_user_id)
WHERE NOT EXISTS (
    SELECT 1 FROM public.doctors AS d WHERE d.legacy_user_id = wanted.legacy_user_id
)
ORDER BY wanted.legacy_user_id;
