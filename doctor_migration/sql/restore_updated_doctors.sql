-- Rollback: every column of each updated row back to its before-image, same id.
-- {columns} and {values} (the same, qualified by b) are composed with psycopg.sql.
UPDATE public.doctors AS d
SET ({columns}) = (SELECT {values} FROM jsonb_populate_record(NULL::public.doctors, r.before) AS b)
FROM doctor_migration.row_changes AS r
WHERE r.run_id = %(run_id)s AND r.action = 'update' AND d.id = r.doctor_id;
