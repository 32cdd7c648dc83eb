-- The ledger's record of what the run left: every clean doctor's migrated row, as a hash of
-- its mapped columns ({digest} is mapping.digest of d, composed with psycopg.sql). The checks
-- of loaded_doctors executed on their own compare the live target with it.
INSERT INTO doctor_migration.run_digests (run_id, legacy_user_id, digest)
SELECT %(run_id)s, d.legacy_user_id, {digest}
FROM pg_temp.doctor_stage AS s
JOIN public.doctors AS d ON d.legacy_user_id = s.legacy_user_id;
