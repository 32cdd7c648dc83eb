-- A refused rollback: for each of %(doctor_ids)s that the run inserted and kept as a digest
-- (rows of the run that changed since), the mapped columns in which the row now differs from
-- the one the run inserted it from: its legacy user's row in the run's stage (doctor_rows of
-- %(stage_id)s), cast to public.doctors' types as the load cast it, compared by text output
-- ({differences}: one CASE per mapped column, composed with psycopg.sql). No row where the
-- stage no longer holds that legacy user's row.
SELECT r.doctor_id, array_remove(ARRAY[{differences}]::text[], NULL) AS columns
FROM rollback_images AS r
JOIN public.doctors AS d ON d.id = r.doctor_id
JOIN doctor_migration.doctor_rows AS s
  ON s.run_id = %(stage_id)s AND s.legacy_user_id = r.legacy_user_id
WHERE r.doctor_id = ANY(%(doctor_ids)s::uuid[]) AND r.after_digest IS NOT NULL;
