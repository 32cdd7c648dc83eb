-- The floor: update in place the migrated rows whose mapped values differ (the metadata's
-- migration_date ignored), so a rerun on unchanged data writes nothing.
UPDATE public.doctors AS d
SET profile_id = r.profile_id,
    doctor_id = r.doctor_id,
    doctor_number = r.doctor_number,
    license_number = r.license_number,
    npi_number = r.npi_number,
    specialty = r.specialty,
    board_certifications = r.board_certifications,
    education = r.education,
    years_experience = r.years_experience,
    primary_office_id = r.primary_office_id,
    practice_type = r.practice_type,
    status = r.status,
    is_accepting_patients = r.is_accepting_patients,
    max_patient_load = r.max_patient_load,
    bio = r.bio,
    specialties = r.specialties,
    languages_spoken = r.languages_spoken,
    professional_memberships = r.professional_memberships,
    consultation_duration_minutes = r.consultation_duration_minutes,
    follow_up_duration_minutes = r.follow_up_duration_minutes,
    working_hours = r.working_hours,
    consultation_fee = r.consultation_fee,
    accepts_insurance = r.accepts_insurance,
    payment_terms = r.payment_terms,
    licensed_since = r.licensed_since,
    joined_practice_at = r.joined_practice_at,
    legacy_doctor_id = r.legacy_doctor_id,
    migration_metadata = r.migration_metadata,
    updated_at = now()
FROM floor_rows AS r
WHERE d.legacy_user_id = r.legacy_user_id
  AND (d.profile_id, d.doctor_id, d.doctor_number, d.license_number, d.npi_number, d.specialty,
       d.board_certifications, d.education, d.years_experience, d.primary_office_id,
       d.practice_type, d.status, d.is_accepting_patients, d.max_patient_load, d.bio,
       d.specialties, d.languages_spoken, d.professional_memberships,
       d.consultation_duration_minutes, d.follow_up_duration_minutes, d.working_hours,
       d.consultation_fee, d.accepts_insurance, d.payment_terms, d.licensed_since,
       d.joined_practice_at, d.legacy_doctor_id, d.migration_metadata - 'migration_date')
      IS DISTINCT FROM
      (r.profile_id, r.doctor_id, r.doctor_number, r.license_number, r.npi_number, r.specialty,
       r.board_certifications, r.education, r.years_experience, r.primary_office_id,
       r.practice_type, r.status, r.is_accepting_patients, r.max_patient_load, r.bio,
       r.specialties, r.languages_spoken, r.professional_memberships,
       r.consultation_duration_minutes, r.follow_up_duration_minutes, r.working_hours,
       r.consultation_fee, r.accepts_insurance, r.payment_terms, r.licensed_since,
       r.joined_practice_at, r.legacy_doctor_id, r.migration_metadata - 'migration_date');
