-- clean_doctors' metadata, from this command's stage.
SELECT count(*) AS clean_doctors,
       count(*) FILTER (WHERE has_office_assignment) AS with_office_assignment,
       count(*) FILTER (WHERE has_settings) AS with_settings,
       count(*) FILTER (WHERE email IS NULL OR email = '') AS deduplicated_by_name
FROM doctor_migration.clean_doctors
WHERE run_id = %(run_id)s;
