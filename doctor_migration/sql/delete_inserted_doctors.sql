-- Rollback: remove the rows the run inserted.
DELETE FROM public.doctors AS d
USING doctor_migration.row_changes AS r
WHERE r.run_id = %(run_id)s AND r.action = 'insert' AND d.id = r.doctor_id;
