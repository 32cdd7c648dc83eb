-- A ledger made by an older version: its runs keep format 1 (to_jsonb images) when it had no
-- ledger_format, and the columns and table added since start empty. The last line is what the
-- tool asks an owner to run when its own role may not.
CREATE TABLE IF NOT EXISTS doctor_migration.run_digests (
    run_id          text NOT NULL REFERENCES doctor_migration.runs (run_id),
    legacy_user_id  bigint NOT NULL,
    digest          bigint NOT NULL,
    PRIMARY KEY (run_id, legacy_user_id)
);
ALTER TABLE doctor_migration.runs ADD COLUMN IF NOT EXISTS ledger_format integer NOT NULL DEFAULT 1, ADD COLUMN IF NOT EXISTS stage_id text, ADD COLUMN IF NOT EXISTS lookup_legacy_id bigint, ADD COLUMN IF NOT EXISTS native_before text, ADD COLUMN IF NOT EXISTS native_after text, ADD COLUMN IF NOT EXISTS digest_columns text[]; ALTER TABLE doctor_migration.row_changes ADD COLUMN IF NOT EXISTS after_digest text;
