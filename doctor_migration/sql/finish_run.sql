UPDATE doctor_migration.runs
SET finished_at = clock_timestamp(),
    inserted = %(inserted)s,
    updated = %(updated)s,
    deleted = %(deleted)s,
    unchanged = %(unchanged)s
WHERE run_id = %(run_id)s;
