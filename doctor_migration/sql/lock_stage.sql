-- The command's own stage, held for the transaction so that no later command replaces it
-- while this step reads or writes it.
SELECT command FROM doctor_migration.stages WHERE run_id = %(run_id)s FOR SHARE;
