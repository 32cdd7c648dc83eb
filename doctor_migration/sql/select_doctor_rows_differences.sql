-- Why the command's doctor_rows broke their seal, where ids can tell: the legacy ids the load
-- staged (pg_temp.doctor_stage) that are not among the stage's clean doctors, and clean doctors
-- without a row.
SELECT ARRAY(SELECT r.legacy_user_id FROM pg_temp.doctor_stage AS r
             WHERE NOT EXISTS (SELECT 1 FROM doctor_migration.clean_doctors AS c
                               WHERE c.run_id = %(run_id)s AND c.user_id = r.legacy_user_id)
             ORDER BY 1) AS extra,
       ARRAY(SELECT c.user_id FROM doctor_migration.clean_doctors AS c
             WHERE c.run_id = %(run_id)s
               AND NOT EXISTS (SELECT 1 FROM pg_temp.doctor_stage AS r
                               WHERE r.legacy_user_id = c.user_id)
             ORDER BY 1) AS missing;
