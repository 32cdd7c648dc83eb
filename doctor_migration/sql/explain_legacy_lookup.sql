-- Step 4.2 of the plan: the legacy id lookup, measured for a real migrated id.
EXPLAIN (ANALYZE, FORMAT JSON)
SELECT * FROM public.doctors WHERE legacy_user_id = %(legacy_user_id)s;
