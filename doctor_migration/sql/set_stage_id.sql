-- The stage id the stage tables' run_id column defaults to, in this transaction only.
SELECT set_config('doctor_migration.run_id', %(run_id)s, true);
