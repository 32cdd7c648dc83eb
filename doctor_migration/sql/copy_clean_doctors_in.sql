COPY doctor_migration.clean_doctors (
    user_id, first_name, last_name, email, username, is_active, date_joined, last_login,
    patient_count, has_office_assignment, has_settings
) FROM STDIN
