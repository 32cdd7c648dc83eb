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
    ledger_format   integer NOT NULL DEFAULT 1
);

CREATE TABLE IF NOT EXISTS doctor_migration.row_changes (
    run_id          text NOT NULL REFERENCES doctor_migration.runs (run_id),
    doctor_id       uuid NOT NULL,
    legacy_user_id  bigint,
    action          text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    changed_columns text[],
    before          jsonb,
    after           jsonb,
    PRIMARY KEY (run_id, doctor_id)
);
CREATE INDEX IF NOT EXISTS row_changes_doctor_id ON doctor_migration.row_changes (doctor_id);
