-- After a rollback: rows of the run that differ from their before-image (updated_at aside,
-- which the target's trigger sets), or that exist though the run inserted them.
SELECT r.doctor_id
FROM doctor_migration.row_changes AS r
LEFT JOIN public.doctors AS d ON d.id = r.doctor_id
WHERE r.run_id = %(run_id)s
  AND CASE WHEN r.action = 'insert' THEN d.id IS NOT NULL
           ELSE d.id IS NULL OR (to_jsonb(d) - 'updated_at') IS DISTINCT FROM (r.before - 'updated_at') END;
