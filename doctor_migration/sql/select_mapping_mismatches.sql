-- Reconciliation: every migrated doctors row, as the target holds it now, against what the
-- mapping says it must be (the staged rows), column by column. Written out column by column
-- on purpose: it does not share the load's jsonb comparison, so a fault there shows here.
-- migration_metadata.migration_date is the date of the run that last wrote the row: ignored.
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
               CASE WHEN d.board_certifications IS DISTINCT FROM s.board_certifications THEN 'board_certifications' END,
               CASE WHEN d.education IS DISTINCT FROM s.education THEN 'education' END,
               CASE WHEN d.years_experience IS DISTINCT FROM s.years_experience THEN 'years_experience' END,
               CASE WHEN d.primary_office_id IS DISTINCT FROM s.primary_office_id THEN 'primary_office_id' END,
               CASE WHEN d.practice_type IS DISTINCT FROM s.practice_type THEN 'practice_type' END,
               CASE WHEN d.status IS DISTINCT FROM s.status THEN 'status' END,
               CASE WHEN d.is_accepting_patients IS DISTINCT FROM s.is_accepting_patients THEN 'is_accepting_patients' END,
               CASE WHEN d.max_patient_load IS DISTINCT FROM s.max_patient_load THEN 'max_patient_load' END,
               CASE WHEN d.bio IS DISTINCT FROM s.bio THEN 'bio' END,
               CASE WHEN d.specialties IS DISTINCT FROM s.specialties THEN 'specialties' END,
               CASE WHEN d.languages_spoken IS DISTINCT FROM s.languages_spoken THEN 'languages_spoken' END,
               CASE WHEN d.professional_memberships IS DISTINCT FROM s.professional_memberships THEN 'professional_memberships' END,
               CASE WHEN d.consultation_duration_minutes IS DISTINCT FROM s.consultation_duration_minutes THEN 'consultation_duration_minutes' END,
               CASE WHEN d.follow_up_duration_minutes IS DISTINCT FROM s.follow_up_duration_minutes THEN 'follow_up_duration_minutes' END,
               CASE WHEN d.working_hours IS DISTINCT FROM s.working_hours THEN 'working_hours' END,
               CASE WHEN d.consultation_fee IS DISTINCT FROM s.consultation_fee THEN 'consultation_fee' END,
               CASE WHEN d.accepts_insurance IS DISTINCT FROM s.accepts_insurance THEN 'accepts_insurance' END,
               CASE WHEN d.payment_terms IS DISTINCT FROM s.payment_terms THEN 'payment_terms' END,
               CASE WHEN d.licensed_since IS DISTINCT FROM s.licensed_since THEN 'licensed_since' END,
               CASE WHEN d.joined_practice_at IS DISTINCT FROM s.joined_practice_at THEN 'joined_practice_at' END,
               CASE WHEN d.legacy_doctor_id IS DISTINCT FROM s.legacy_doctor_id THEN 'legacy_doctor_id' END,
               CASE WHEN (CASE WHEN jsonb_typeof(d.migration_metadata) = 'object'
                               THEN d.migration_metadata - 'migration_date'
                               ELSE d.migration_metadata END)
                         IS DISTINCT FROM (s.migration_metadata - 'migration_date')
                    THEN 'migration_metadata' END
           ], NULL) AS columns
    FROM pg_temp.doctor_stage AS s
    FULL JOIN migrated AS d ON d.legacy_user_id = s.legacy_user_id
)
SELECT legacy_user_id, not_clean, missing, columns
FROM compared
WHERE not_clean OR missing OR cardinality(columns) > 0
ORDER BY legacy_user_id;
