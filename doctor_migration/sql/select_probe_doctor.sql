-- A migrated doctors row to probe the target's triggers with (rolled back): one of `preferred`
-- (rows no other table may reference) if any. Never a native doctor, not even in a savepoint:
-- with no migrated row yet, a run only inserts, and undoing an insert writes nothing back.
SELECT d.id
FROM public.doctors AS d
WHERE d.legacy_user_id IS NOT NULL
ORDER BY d.id = ANY(%(preferred)s) DESC, d.id
LIMIT 1;
