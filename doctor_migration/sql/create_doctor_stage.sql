-- Step 2.2: a staging table with exactly the mapped columns, typed like public.doctors.
CREATE TEMP TABLE pg_temp.doctor_stage ON COMMIT DROP AS
SELECT legacy_user_id, profile_id, doctor_id, doctor_number, license_number, npi_number,
       specialty, board_certifications, education, years_experience, primary_office_id,
       practice_type, status, is_accepting_patients, max_patient_load, bio, specialties,
       languages_spoken, professional_memberships, consultation_duration_minutes,
       follow_up_duration_minutes, working_hours, consultation_fee, accepts_insurance,
       payment_terms, licensed_since, joined_practice_at, legacy_doctor_id, migration_metadata
FROM public.doctors
WITH NO DATA;
