-- Steps 2.2 and 2.3 of the plan: one doctors row per clean doctor and its profile, with the
-- plan's own expressions and defaults, in this command's stage. The transaction runs in UTC
-- (target.configure), so AGE counts from today's midnight in UTC and ::date is the UTC date.
-- The plan's second legacy_user_id is the same column; updated_at is set by the load.
-- migration_metadata is step 2.3's document; deduplication_method says which key of step
-- 1.1's DISTINCT ON chose the doctor (an empty e-mail falls back to first_last).
INSERT INTO doctor_migration.doctor_rows (
    run_id, legacy_user_id, profile_id, doctor_id, doctor_number, license_number, npi_number,
    specialty, board_certifications, education, years_experience, primary_office_id,
    practice_type, status, is_accepting_patients, max_patient_load, bio, specialties,
    languages_spoken, professional_memberships, consultation_duration_minutes,
    follow_up_duration_minutes, working_hours, consultation_fee, accepts_insurance,
    payment_terms, licensed_since, joined_practice_at, legacy_doctor_id, migration_metadata
)
SELECT
    cd.run_id,
    cd.user_id,                                     -- legacy_user_id
    p.profile_id,                                   -- profile_id
    cd.user_id,                                     -- doctor_id
    'DOC-' || cd.user_id,                           -- doctor_number
    NULL,                                           -- license_number
    NULL,                                           -- npi_number
    'General Practice',                             -- specialty
    '{}',                                           -- board_certifications
    '{}',                                           -- education
    EXTRACT(YEAR FROM AGE(cd.date_joined)),         -- years_experience
    NULL,                                           -- primary_office_id
    'Private Practice',                             -- practice_type
    'active',                                       -- status
    true,                                           -- is_accepting_patients
    NULL,                                           -- max_patient_load
    'Migrated doctor profile',                      -- bio
    '["General Practice"]',                         -- specialties
    '["English"]',                                  -- languages_spoken
    '{}',                                           -- professional_memberships
    30,                                             -- consultation_duration_minutes
    15,                                             -- follow_up_duration_minutes
    '{}',                                           -- working_hours
    NULL,                                           -- consultation_fee
    true,                                           -- accepts_insurance
    '{}',                                           -- payment_terms
    cd.date_joined::date,                           -- licensed_since
    cd.date_joined,                                 -- joined_practice_at
    cd.user_id,                                     -- legacy_doctor_id
    jsonb_build_object(                             -- migration_metadata (step 2.3)
        'migration_date', to_char(current_date, 'YYYY-MM-DD'),
        'source_patient_count', cd.patient_count,
        'has_office_assignment', cd.has_office_assignment,
        'has_settings', cd.has_settings,
        'deduplication_method', CASE WHEN cd.email IS NOT NULL AND cd.email <> ''
                                     THEN 'email_priority' ELSE 'name_fallback' END,
        'data_quality_score', 'high')
FROM doctor_migration.clean_doctors AS cd
JOIN doctor_migration.profile_coverage AS p
  ON p.run_id = cd.run_id AND p.legacy_user_id = cd.user_id
WHERE cd.run_id = %(run_id)s;
