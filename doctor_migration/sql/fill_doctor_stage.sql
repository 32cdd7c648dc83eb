-- The load's sealed copy of the command's doctor_rows (create_sealed_doctor_rows.sql) into
-- pg_temp.doctor_stage, each column cast to public.doctors' own
-- type ({values} composed with psycopg.sql), as the load merges them.
INSERT INTO pg_temp.doctor_stage (
    legacy_user_id, profile_id, doctor_id, doctor_number, license_number, npi_number,
    specialty, board_certifications, education, years_experience, primary_office_id,
    practice_type, status, is_accepting_patients, max_patient_load, bio, specialties,
    languages_spoken, professional_memberships, consultation_duration_minutes,
    follow_up_duration_minutes, working_hours, consultation_fee, accepts_insurance,
    payment_terms, licensed_since, joined_practice_at, legacy_doctor_id, migration_metadata
)
SELECT {values}
FROM pg_temp.sealed_doctor_rows AS s;
