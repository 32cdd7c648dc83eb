-- Step 2.2 for doctors that already have a migrated row: update in place. id, created_at and
-- every column the mapping does not set keep their values (other tables reference doctors.id).
-- The after-image of each row goes to the run's ledger entry, written just before ({after}
-- is ledger.image of u, composed with psycopg.sql).
WITH updated AS (
    UPDATE public.doctors AS d
    SET profile_id = s.profile_id,
        doctor_id = s.doctor_id,
        doctor_number = s.doctor_number,
        license_number = s.license_number,
        npi_number = s.npi_number,
        specialty = s.specialty,
        board_certifications = s.board_certifications,
        education = s.education,
        years_experience = s.years_experience,
        primary_office_id = s.primary_office_id,
        practice_type = s.practice_type,
        status = s.status,
        is_accepting_patients = s.is_accepting_patients,
        max_patient_load = s.max_patient_load,
        bio = s.bio,
        specialties = s.specialties,
        languages_spoken = s.languages_spoken,
        professional_memberships = s.professional_memberships,
        consultation_duration_minutes = s.consultation_duration_minutes,
        follow_up_duration_minutes = s.follow_up_duration_minutes,
        working_hours = s.working_hours,
        consultation_fee = s.consultation_fee,
        accepts_insurance = s.accepts_insurance,
        payment_terms = s.payment_terms,
        licensed_since = s.licensed_since,
        joined_practice_at = s.joined_practice_at,
        legacy_doctor_id = s.legacy_doctor_id,
        migration_metadata = s.migration_metadata,
        updated_at = now()
    FROM pg_temp.doctor_stage AS s
    JOIN pg_temp.doctor_changes AS c ON c.legacy_user_id = s.legacy_user_id AND c.action = 'update'
    WHERE d.id = c.doctor_id
    RETURNING d.*
)
UPDATE doctor_migration.row_changes AS r
SET after = {after}
FROM updated AS u
WHERE r.run_id = %(run_id)s AND r.doctor_id = u.id;
