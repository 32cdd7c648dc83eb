-- The columns the digests of the rows the run inserted cover (row_changes.after_digest), in
-- the digests' order.
UPDATE doctor_migration.runs
SET digest_columns = %(digest_columns)s
WHERE run_id = %(run_id)s;
