-- Rollback: the rows the run deleted come back with their old id and every old value.
-- {columns} and {values} (the same, qualified by b) are composed with psycopg.sql.
INSERT INTO public.doctors ({columns})
SELECT {values}
FROM doctor_migration.row_changes AS r,
     jsonb_populate_record(NULL::public.doctors, r.before) AS b
WHERE r.run_id = %(run_id)s AND r.action = 'delete';
