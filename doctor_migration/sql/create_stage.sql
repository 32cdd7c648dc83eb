-- The stage: the tool's workspace on the target, where the assets profile_coverage,
-- clean_doctors (with every source user's outcome in source_users) and doctor_rows are tables
-- an operator can query. Each command's rows carry its stage id (the run id of the Dagster run
-- that started it; a re-execution keeps its root run's), and doctor_migration.stages says which
-- command each stage belongs to. Never in public (Supabase's Data API exposes public); the
-- rows hold names and e-mails, so every command revokes any grant on them but the tool's
-- role's and their owners' (select_extra_table_grants.sql). UNLOGGED: each command rebuilds its
-- stage, so it is not worth the WAL; a crash of the server empties it, and the next command
-- starts again.
-- run_id defaults to the transaction's doctor_migration.run_id setting, so that COPY can fill
-- the tables with the source's columns only.
-- In schema doctor_migration (create_tool_schema.sql makes it first).

CREATE UNLOGGED TABLE IF NOT EXISTS doctor_migration.stages (
    run_id      text PRIMARY KEY,
    command     text NOT NULL CHECK (command IN ('run', 'plan')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    db_user     text NOT NULL DEFAULT current_user
);

-- Phase 1: the doctor profiles as the command read them.
CREATE UNLOGGED TABLE IF NOT EXISTS doctor_migration.profile_coverage (
    run_id          text NOT NULL DEFAULT current_setting('doctor_migration.run_id'),
    profile_id      uuid,
    legacy_user_id  bigint,
    first_name      text,
    last_name       text,
    email           text
);

-- Step 1.1's result, column for column, from the source's snapshot.
CREATE UNLOGGED TABLE IF NOT EXISTS doctor_migration.clean_doctors (
    run_id                 text NOT NULL DEFAULT current_setting('doctor_migration.run_id'),
    user_id                bigint,
    first_name             text,
    last_name              text,
    email                  text,
    username               text,
    is_active              boolean,
    date_joined            timestamptz,
    last_login             timestamptz,
    patient_count          bigint,
    has_office_assignment  boolean,
    has_settings           boolean
);

-- Every auth_user's outcome (select_user_outcomes.sql), from the same snapshot: no names.
CREATE UNLOGGED TABLE IF NOT EXISTS doctor_migration.source_users (
    run_id                  text NOT NULL DEFAULT current_setting('doctor_migration.run_id'),
    user_id                 bigint,
    outcome                 text,
    duplicate_of            bigint,
    dedup_by                text,
    is_active               boolean,
    has_settings            boolean,
    has_office_assignment   boolean,
    patient_count           bigint,
    archived_patient_count  bigint,
    last_login              timestamptz
);

-- Steps 2.2 and 2.3: what the load writes, in the plan's types (the load casts each column to
-- public.doctors' own type).
CREATE UNLOGGED TABLE IF NOT EXISTS doctor_migration.doctor_rows (
    run_id                         text NOT NULL,
    legacy_user_id                 bigint,
    profile_id                     uuid,
    doctor_id                      bigint,
    doctor_number                  text,
    license_number                 text,
    npi_number                     text,
    specialty                      text,
    board_certifications           jsonb,
    education                      jsonb,
    years_experience               integer,
    primary_office_id              text,
    practice_type                  text,
    status                         text,
    is_accepting_patients          boolean,
    max_patient_load               integer,
    bio                            text,
    specialties                    jsonb,
    languages_spoken               jsonb,
    professional_memberships       jsonb,
    consultation_duration_minutes  integer,
    follow_up_duration_minutes     integer,
    working_hours                  jsonb,
    consultation_fee               numeric,
    accepts_insurance              boolean,
    payment_terms                  jsonb,
    licensed_since                 date,
    joined_practice_at             timestamptz,
    legacy_doctor_id               bigint,
    migration_metadata             jsonb
);
