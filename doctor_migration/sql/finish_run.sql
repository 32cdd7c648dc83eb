-- The run's end, once its writes and its checks passed: what it did, and the native doctors
-- as it leaves them.
UPDATE doctor_migration.runs
SET finished_at = clock_timestamp(),
    inserted = %(inserted)s,
    updated = %(updated)s,
    deleted = %(deleted)s,
    unchanged = %(unchanged)s,
    native_after = %(native_after)s
WHERE run_id = %(run_id)s;
