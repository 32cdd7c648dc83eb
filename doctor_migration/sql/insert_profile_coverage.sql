-- Phase 1 of the plan: the doctor profiles the earlier profile migration made, by legacy id,
-- into this command's stage.
INSERT INTO doctor_migration.profile_coverage
    (run_id, profile_id, legacy_user_id, first_name, last_name, email)
SELECT %(run_id)s, p.id, p.legacy_user_id, p.first_name, p.last_name, p.email
FROM public.profiles AS p
WHERE p.profile_type = 'doctor'
  AND p.legacy_user_id IS NOT NULL;
