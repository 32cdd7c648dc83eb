-- Step 3.4 precondition: a legacy user may own at most one migrated doctors row.
SELECT d.legacy_user_id, count(*) AS rows, array_agg(d.id ORDER BY d.id) AS doctor_ids
FROM public.doctors AS d
WHERE d.legacy_user_id IS NOT NULL
GROUP BY d.legacy_user_id
HAVING count(*) > 1
ORDER BY d.legacy_user_id;
