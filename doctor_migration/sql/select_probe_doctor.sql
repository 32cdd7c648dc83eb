-- A migrated doctors row to probe the target's triggers with (rolled back): preferably one the
-- run %(run_id)s inserted (a row no other table may reference), else the first migrated row.
-- Never a native doctor, not even in a savepoint: with no migrated row yet, a run only
-- inserts, and undoing an insert writes nothing back.
(SELECT r.doctor_id
 FROM doctor_migration.row_changes AS r
 JOIN public.doctors AS d ON d.id = r.doctor_id
 WHERE r.run_id = %(run_id)s AND r.action = 'insert'
 ORDER BY r.doctor_id
 LIMIT 1)
UNION ALL
(SELECT d.id
 FROM public.doctors AS d
 WHERE d.legacy_user_id IS NOT NULL
 ORDER BY d.id
 LIMIT 1)
LIMIT 1;
