-- Reconciliation: every migrated doctors row, as the target holds it now, against what the
-- mapping says it must be (the staged rows), column by column. Written out column by column
-- on purpose: it does not share the load's jsonb comparison, so a fault there shows here.
-- migration_metadata.migration_date is the date of the run that last wrote the row: ignored.
-- The json-like columns are compared as jsonb (a target may declare them json, which has no =).
WITH migrated AS (
    SELECT * FROM public.doctors WHERE legacy_user_id IS NOT NULL
),
compared AS (
    SELECT COALESCE(s.legacy_user_id, d.legacy_user_id) AS legacy_user_id,
           s.legacy_user_id IS NULL AS not_clean,
           d.legacy_user_id IS NULL AS missing,
           array_remove(ARRAY[
               CASE WHEN d.profile_id IS DISTINCT FROM s.profile_id THEN 'profile_id' END,
               CASE WHEN d.doctor_id IS DISTINCT FROM s.doctor_id THEN 'doctor_id' END,
               CASE WHEN d.doctor_number IS DISTINCT FROM s.doctor_number THEN 'doctor_number' END,
               CASE WHEN d.license_number IS DISTINCT FROM s.license_number THEN 'license_number' END,
               CASE WHEN d.npi_number IS DISTINCT FROM s.npi_number THEN 'npi_number' END,
               CASE WHEN d.specialty IS DISTINCT FROM s.specialty THEN 'specialty' END,
               CASE WHEN d.board_certifications::jsonb IS DISTINCT FROM s.board_certifications::jsonb THEN 'board_certifications' END,
               CASE WHEN d.education::jsonb IS DISTINCT FROM s.education::jsonb THEN 'education' END,
               CASE WHEN d.years_experience IS DISTINCT FROM s.years_experience THEN 'years_experience' END,
               CASE WHEN d.primary_office_id IS DISTINCT FROM s.primary_office_id THEN 'primary_office_id' END,
               CASE WHEN d.practice_type IS DISTINCT FROM s.practice_type THEN 'practice_type' END,
               CASE WHEN d.status IS DISTINCT FROM s.status THEN 'status' END,
               CASE WHEN d.is_accepting_patients IS DISTINCT FROM s.is_accepting_patients THEN 'is_accepting_patients' END,
               CASE WHEN d.max_patient_load IS DISTINCT FROM s.max_patient_load THEN 'max_patient_load' END,
               CASE WHEN d.bio IS DISTINCT FROM s.bio THEN 'bio' END,
               CASE WHEN d.specialties::jsonb IS DISTINCT FROM s.specialties::jsonb THEN 'specialties' END,
               CASE WHEN d.languages_spoken::jsonb IS DISTINCT FROM s.languages_spoken::jsonb THEN 'languages_spoken' END,
               CASE WHEN d.professional_memberships::jsonb IS DISTINCT FROM s.professional_memberships::jsonb THEN 'professional_memberships' END,
               CASE WHEN d.consultation_duration_minutes IS DISTINCT FROM s.consultation_duration_minutes THEN 'consultation_duration_minutes' END,
               CASE WHEN d.follow_up_duration_minutes IS DISTINCT FROM s.follow_up_duration_minutes THEN 'follow_up_duration_minutes' END,
               CASE WHEN d.working_hours::jsonb IS DISTINCT FROM s.working_hours::jsonb THEN 'working_hours' END,
               CASE WHEN d.consultation_fee IS DISTINCT FROM s.consultation_fee THEN 'consultation_fee' END,
               CASE WHEN d.accepts_insurance IS DISTINCT FROM s.accepts_insurance THEN 'accepts_insurance' END,
               CASE WHEN d.payment_terms::jsonb IS DISTINCT FROM s.payment_terms::jsonb THEN 'payment_terms' END,
               CASE WHEN d.licensed_since IS DISTINCT FROM s.licensed_since THEN 'licensed_since' END,
               CASE WHEN d.joined_practice_at IS DISTINCT FROM s.joined_practice_at THEN 'joined_practice_at' END,
               CASE WHEN d.legacy_doctor_id IS DISTINCT FROM s.legacy_doctor_id THEN 'legacy_doctor_id' END,
               CASE WHEN (CASE WHEN jsonb_typeof(d.migration_metadata::jsonb) = 'object'
                               THEN d.migration_metadata::jsonb - 'migration_date'
                               ELSE d.migration_metadata::jsonb END)
                         IS DISTINCT FROM (s.migration_metadata::jsonb - 'migration_date')
                    THEN 'migration_metadata' END
           ], NULL) AS columns
    FROM pg_temp.doctor_stage AS s
    FULL JOIN migrated AS d ON d.legacy_user_id = s.legacy_user_id
)
SELECT legacy_user_id, not_clean, missing, columns
FROM compared
WHERE not_clean OR missing OR cardinality(columns) > 0
ORDER BY legacy_user_id;
