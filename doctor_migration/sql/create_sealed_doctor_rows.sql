-- The load's private copy of the command's doctor_rows: the rows the seal is verified over and
-- the load merges (fill_doctor_stage.sql), which no other session can change.
CREATE TEMP TABLE pg_temp.sealed_doctor_rows ON COMMIT DROP AS
SELECT * FROM doctor_migration.doctor_rows WHERE run_id = %(run_id)s;
