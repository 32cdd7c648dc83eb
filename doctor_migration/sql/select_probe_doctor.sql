-- A doctors row to probe the target's triggers with (rolled back): one of `preferred` (rows no
-- other table may reference) if any, else a migrated row, else any.
SELECT d.id
FROM public.doctors AS d
ORDER BY d.id = ANY(%(preferred)s) DESC, d.legacy_user_id IS NULL, d.id
LIMIT 1;
