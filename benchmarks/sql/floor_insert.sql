-- The floor: step 2.2 for clean doctors without a migrated row, most patients first.
INSERT INTO public.doctors (
    legacy_user_id, profile_id, doctor_id, doctor_number, license_number, npi_number,
    specialty, board_certifications, education, years_experience, primary_office_id,
    practice_type, status, is_accepting_patients, max_patient_load, bio, specialties,
    languages_spoken, professional_memberships, consultation_duration_minutes,
    follow_up_duration_minutes, working_hours, consultation_fee, accepts_insurance,
    payment_terms, licensed_since, joined_practice_at, legacy_doctor_id, migration_metadata
)
SELECT r.legacy_user_id, r.profile_id, r.doctor_id, r.doctor_number, r.license_number,
       r.npi_number, r.specialty, r.board_certifications, r.education, r.years_experience,
       r.primary_office_id, r.practice_type, r.status, r.is_accepting_patients,
       r.max_patient_load, r.bio, r.specialties, r.languages_spoken,
       r.professional_memberships, r.consultation_duration_minutes,
       r.follow_up_duration_minutes, r.working_hours, r.consultation_fee, r.accepts_insurance,
       r.payment_terms, r.licensed_since, r.joined_practice_at, r.legacy_doctor_id,
       r.migration_metadata
FROM floor_rows AS r
WHERE NOT EXISTS (SELECT 1 FROM public.doctors AS d WHERE d.legacy_user_id = r.legacy_user_id)
ORDER BY r.patient_count DESC, r.legacy_user_id;
