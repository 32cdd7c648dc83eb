-- The floor: step 1.1's result columns, as a temp table on the target.
CREATE TEMP TABLE floor_clean (
    user_id               integer,
    first_name            text,
    last_name             text,
    email                 text,
    username              text,
    is_active             boolean,
    date_joined           timestamptz,
    last_login            timestamptz,
    patient_count         bigint,
    has_office_assignment boolean,
    has_settings          boolean
) ON COMMIT DROP;
