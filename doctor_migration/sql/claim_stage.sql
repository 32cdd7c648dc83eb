-- The stage taken for a Dagster run, if the run seen using it is still the one recorded (two
-- runs claiming at once: the second finds it taken and refuses).
UPDATE doctor_migration.stages SET used_by = %(used_by)s
WHERE run_id = %(run_id)s AND used_by IS NOT DISTINCT FROM %(seen)s;
