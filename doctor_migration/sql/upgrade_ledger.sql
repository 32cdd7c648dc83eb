-- A ledger made by a version before ledger_format: its runs keep format 1 (to_jsonb images).
ALTER TABLE doctor_migration.runs ADD COLUMN IF NOT EXISTS ledger_format integer NOT NULL DEFAULT 1;
