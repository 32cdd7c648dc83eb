-- The Dagster run using a stage (stage.Claim), on a stage registry made before it existed.
ALTER TABLE doctor_migration.stages ADD COLUMN IF NOT EXISTS used_by text;
