-- The ledger: each row the run inserted (insert_doctors.sql, just before), as the run leaves it,
-- kept as its digest over the run's digest_columns in place of an after-image ({digest} is
-- ledger.digest of d, composed with psycopg.sql). Found by legacy user: each of them had no
-- migrated row before, and has the one the run inserted now.
INSERT INTO doctor_migration.row_changes (run_id, doctor_id, legacy_user_id, action, after_digest)
SELECT %(run_id)s, d.id, d.legacy_user_id, 'insert', {digest}
FROM public.doctors AS d
JOIN pg_temp.doctor_changes AS c ON c.legacy_user_id = d.legacy_user_id AND c.action = 'insert';
