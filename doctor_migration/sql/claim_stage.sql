-- The stage taken for a Dagster run. The step holds the stage's row (lock_stage.sql), so the
-- run it saw using the stage is still the one recorded; a second run claiming at the same
-- moment waits for that hold, and one of the two claims gives up (stage._claim).
UPDATE doctor_migration.stages SET used_by = %(used_by)s WHERE run_id = %(run_id)s;
