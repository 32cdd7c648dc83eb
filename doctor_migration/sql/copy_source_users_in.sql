COPY doctor_migration.source_users (
    user_id, outcome, duplicate_of, dedup_by, is_active, has_settings, has_office_assignment,
    patient_count, archived_patient_count, last_login
) FROM STDIN
