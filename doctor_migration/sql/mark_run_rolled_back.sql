UPDATE doctor_migration.runs
SET rolled_back_at = clock_timestamp(),
    rolled_back_by = %(rolled_back_by)s
WHERE run_id = %(run_id)s AND rolled_back_at IS NULL;
