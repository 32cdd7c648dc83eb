-- The ledger: each row the run will update or delete, exactly as it is now (every column).
-- {before} is ledger.image of d, composed with psycopg.sql.
INSERT INTO doctor_migration.row_changes (run_id, doctor_id, legacy_user_id, action, changed_columns, before)
SELECT %(run_id)s, d.id, d.legacy_user_id, c.action, c.changed_columns, {before}
FROM public.doctors AS d
JOIN pg_temp.doctor_changes AS c ON c.doctor_id = d.id
WHERE c.action IN ('update', 'delete');
