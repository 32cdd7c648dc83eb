-- Why the load's copy of doctor_rows broke its seal, where ids can tell: legacy ids that are
-- not among the stage's clean doctors, and clean doctors without a row.
SELECT ARRAY(SELECT r.legacy_user_id FROM pg_temp.sealed_doctor_rows AS r
             WHERE NOT EXISTS (SELECT 1 FROM doctor_migration.clean_doctors AS c
                               WHERE c.run_id = %(run_id)s AND c.user_id = r.legacy_user_id)
             ORDER BY 1) AS extra,
       ARRAY(SELECT c.user_id FROM doctor_migration.clean_doctors AS c
             WHERE c.run_id = %(run_id)s
               AND NOT EXISTS (SELECT 1 FROM pg_temp.sealed_doctor_rows AS r
                               WHERE r.legacy_user_id = c.user_id)
             ORDER BY 1) AS missing;
