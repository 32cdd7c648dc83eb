-- Copy of ../shared/contract/legacy_source.sql: the schema the demo and the tests build.
-- The legacy source database, as the migration plan describes it (a Django application:
-- auth_user from django.contrib.auth, the rest from its "dispatch" app).
-- Column types follow Django's defaults: first_name, last_name and email are NOT NULL
-- and may be '' (empty); dispatch_patient.archived is nullable (NULL means "not archived").
-- Real legacy databases carry more columns and tables than these; code must not assume
-- that these are the only ones.

CREATE TABLE auth_user (
    id           serial PRIMARY KEY,
    password     varchar(128) NOT NULL,
    last_login   timestamptz NULL,
    is_superuser boolean NOT NULL,
    username     varchar(150) NOT NULL UNIQUE,
    first_name   varchar(150) NOT NULL,
    last_name    varchar(150) NOT NULL,
    email        varchar(254) NOT NULL,
    is_staff     boolean NOT NULL,
    is_active    boolean NOT NULL,
    date_joined  timestamptz NOT NULL
);

CREATE TABLE dispatch_usersetting (
    id            serial PRIMARY KEY,
    user_id       integer NOT NULL UNIQUE REFERENCES auth_user (id),
    language      varchar(16) NOT NULL DEFAULT 'en',
    notifications boolean NOT NULL DEFAULT true
);

CREATE TABLE dispatch_office (
    id   serial PRIMARY KEY,
    name varchar(255) NOT NULL
);

CREATE TABLE dispatch_office_doctors (
    id        serial PRIMARY KEY,
    office_id integer NOT NULL REFERENCES dispatch_office (id),
    user_id   integer NOT NULL REFERENCES auth_user (id),
    UNIQUE (office_id, user_id)
);

CREATE TABLE dispatch_patient (
    id         serial PRIMARY KEY,
    doctor_id  integer NULL REFERENCES auth_user (id),
    first_name varchar(150) NOT NULL DEFAULT '',
    last_name  varchar(150) NOT NULL DEFAULT '',
    archived   boolean NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dispatch_patient_doctor_id ON dispatch_patient (doctor_id);
CREATE INDEX dispatch_office_doctors_user_id ON dispatch_office_doctors (user_id);
