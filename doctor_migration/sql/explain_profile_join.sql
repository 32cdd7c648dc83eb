-- Step 4.1 of the plan: the profile join, measured.
EXPLAIN (ANALYZE, FORMAT JSON)
SELECT d.*, p.first_name, p.last_name, p.email
FROM public.doctors AS d
JOIN public.profiles AS p ON d.profile_id = p.id
WHERE d.status = 'active';
