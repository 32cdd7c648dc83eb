-- The command's own stage, held for the transaction so that no later command replaces it
-- while this step reads or writes it; and the Dagster run using it (stage.Claim).
SELECT command, used_by FROM doctor_migration.stages WHERE run_id = %(run_id)s FOR SHARE;
