-- explain: a legacy user's outcome as the newest command that read the source recorded it in
-- its stage (a run's before a plan's); the user's columns are NULL when that snapshot of the
-- source had no such user.
SELECT s.run_id, s.command, s.started_at,
       u.user_id, u.outcome, u.duplicate_of, u.dedup_by, u.is_active, u.has_settings,
       u.has_office_assignment, u.patient_count, u.archived_patient_count, u.last_login
FROM doctor_migration.stages AS s
LEFT JOIN doctor_migration.source_users AS u
       ON u.run_id = s.run_id AND u.user_id = %(user_id)s
WHERE EXISTS (SELECT 1 FROM doctor_migration.source_users AS x WHERE x.run_id = s.run_id)
ORDER BY s.command = 'run' DESC, s.started_at DESC
LIMIT 1;
