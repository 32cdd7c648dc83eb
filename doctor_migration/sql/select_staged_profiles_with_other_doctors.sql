-- Step 1.3 again inside the load, over the rows it merges (pg_temp.doctor_stage): a doctors
-- row that appeared on a clean doctor's profile since the gates, native or migrated for
-- another legacy user (the same columns as select_profiles_with_other_doctors.sql).
SELECT s.legacy_user_id, s.profile_id, d.id AS doctor_id, d.legacy_user_id AS migrated_for
FROM pg_temp.doctor_stage AS s
JOIN public.doctors AS d
  ON d.profile_id = s.profile_id AND d.legacy_user_id IS DISTINCT FROM s.legacy_user_id
ORDER BY s.legacy_user_id, d.id;
