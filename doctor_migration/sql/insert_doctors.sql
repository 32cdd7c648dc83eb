-- Step 2.2 for clean doctors with no migrated row yet. The run's ledger records the new rows
-- next (insert_after_digests.sql), once the tool has learned what the target's triggers rewrite
-- on a migrated row: a first run has one only now.
INSERT INTO public.doctors (
    legacy_user_id, profile_id, doctor_id, doctor_number, license_number, npi_number,
    specialty, board_certifications, education, years_experience, primary_office_id,
    practice_type, status, is_accepting_patients, max_patient_load, bio, specialties,
    languages_spoken, professional_memberships, consultation_duration_minutes,
    follow_up_duration_minutes, working_hours, consultation_fee, accepts_insurance,
    payment_terms, licensed_since, joined_practice_at, legacy_doctor_id, migration_metadata,
    updated_at
)
SELECT s.legacy_user_id, s.profile_id, s.doctor_id, s.doctor_number, s.license_number,
       s.npi_number, s.specialty, s.board_certifications, s.education, s.years_experience,
       s.primary_office_id, s.practice_type, s.status, s.is_accepting_patients,
       s.max_patient_load, s.bio, s.specialties, s.languages_spoken,
       s.professional_memberships, s.consultation_duration_minutes,
       s.follow_up_duration_minutes, s.working_hours, s.consultation_fee,
       s.accepts_insurance, s.payment_terms, s.licensed_since, s.joined_practice_at,
       s.legacy_doctor_id, s.migration_metadata, now()
FROM pg_temp.doctor_stage AS s
JOIN pg_temp.doctor_changes AS c ON c.legacy_user_id = s.legacy_user_id AND c.action = 'insert';
