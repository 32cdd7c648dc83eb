-- The command's doctor_rows into pg_temp.doctor_stage (create_doctor_stage.sql), each column
-- cast to public.doctors' own type ({values} composed with psycopg.sql), as the load merges
-- them; and in the same statement, so of the same snapshot, the seal of the rows it read
-- (select_stage_digest.sql for doctor_rows, composed in). Returns the rows staged and the
-- seal's digest.
WITH staged AS (
    INSERT INTO pg_temp.doctor_stage (
        legacy_user_id, profile_id, doctor_id, doctor_number, license_number, npi_number,
        specialty, board_certifications, education, years_experience, primary_office_id,
        practice_type, status, is_accepting_patients, max_patient_load, bio, specialties,
        languages_spoken, professional_memberships, consultation_duration_minutes,
        follow_up_duration_minutes, working_hours, consultation_fee, accepts_insurance,
        payment_terms, licensed_since, joined_practice_at, legacy_doctor_id, migration_metadata
    )
    SELECT {values}
    FROM doctor_migration.doctor_rows AS s
    WHERE s.run_id = %(run_id)s
    RETURNING 1
)
SELECT (SELECT count(*) FROM staged), sealed.digest
FROM ({seal}) AS sealed (rows, digest);
