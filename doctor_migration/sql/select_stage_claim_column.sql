-- Whether the stage registry has its used_by column (add_stage_claim_column.sql).
SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
               WHERE attrelid = to_regclass('doctor_migration.stages')
                 AND attname = 'used_by' AND NOT attisdropped);
