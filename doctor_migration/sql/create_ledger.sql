-- The run ledger: the tool's own schema in the target, never in public (Supabase exposes
-- public through its Data API). Every run that commits leaves one runs row and, for every
-- doctors row it inserted, updated or deleted, that row's whole state before and after.
-- ledger_format 2: before/after map every column to its text output (taken with the output
-- settings pinned, so casting it back gives the same value, byte for byte); 1 (the default,
-- so an older version writing here still marks its rows): to_jsonb images.
-- No grant on them but the tool's role's and their owners' (target.revoke_extra_grants).
-- In schema doctor_migration (create_tool_schema.sql makes it first).

CREATE TABLE IF NOT EXISTS doctor_migration.runs (
    run_id          text PRIMARY KEY,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    expected_count  integer,
    clean_count     integer,
    inserted        integer NOT NULL DEFAULT 0,
    updated         integer NOT NULL DEFAULT 0,
    deleted         integer NOT NULL DEFAULT 0,
    unchanged       integer NOT NULL DEFAULT 0,
    db_user         text NOT NULL DEFAULT current_user,
    os_user         text,
    tool_version    text,
    rolled_back_at  timestamptz,
    rolled_back_by  text,
    ledger_format   integer NOT NULL DEFAULT 1,
    -- What the checks of loaded_doctors, executed on their own, compare the target with
    -- (upgrade_ledger.sql adds them to a ledger made by an older version):
    stage_id          text,     -- the stage whose doctor_rows the run merged
    lookup_legacy_id  bigint,   -- step 4.2's example: the clean doctor with the most patients
    native_before     text,     -- the native doctors before and after the run: count:md5
    native_after      text,
    digest_columns    text[]    -- the columns row_changes.after_digest covers
);

CREATE TABLE IF NOT EXISTS doctor_migration.row_changes (
    run_id          text NOT NULL REFERENCES doctor_migration.runs (run_id),
    doctor_id       uuid NOT NULL,
    legacy_user_id  bigint,
    action          text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    changed_columns text[],
    before          jsonb,
    after           jsonb,
    -- A row the run inserted: the md5 of its text image over runs.digest_columns, in place of
    -- an after-image (after is then null).
    after_digest    text,
    PRIMARY KEY (run_id, doctor_id)
);
CREATE INDEX IF NOT EXISTS row_changes_doctor_id ON doctor_migration.row_changes (doctor_id);

-- Every clean doctor of a run: a 64-bit hash of its migrated row's mapped columns
-- (mapping.digest: migration_metadata without migration_date) as the run left it. The checks of
-- loaded_doctors, executed on their own, compare the live target with the newest applied run.
CREATE TABLE IF NOT EXISTS doctor_migration.run_digests (
    run_id          text NOT NULL REFERENCES doctor_migration.runs (run_id),
    legacy_user_id  bigint NOT NULL,
    digest          bigint NOT NULL,
    PRIMARY KEY (run_id, legacy_user_id)
);
