-- ../shared/contract/supabase_target.sql, as the customer's `postgres` runs it on Supabase: the
-- schema the demo and the tests build (supabase_app.sql adds policies and the rest).
-- The Supabase target, as the migration plan describes it: profiles (filled by the earlier
-- profile migration) and doctors (filled by this one). Supabase is PostgreSQL 15+ with
-- an auth schema; public tables usually have row level security enabled and an
-- updated_at trigger. A real target may carry more columns, tables, triggers and
-- foreign keys than these (other tables may reference doctors.id); the migration must
-- validate what it needs and never assume it created or owns this schema.

-- The auth schema is Supabase's own (supabase_platform.sql), not the customer's to create.

CREATE TYPE public.profile_type AS ENUM ('doctor', 'patient', 'admin');

CREATE TABLE public.profiles (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    legacy_user_id integer,                       -- source auth_user.id
    first_name     text,
    last_name      text,
    email          text,
    profile_type   public.profile_type NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE public.doctor_status AS ENUM ('active', 'inactive', 'suspended', 'pending');

CREATE TABLE public.doctors (
    id                            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    profile_id                    uuid NOT NULL REFERENCES public.profiles (id),
    legacy_user_id                bigint,         -- source auth_user.id; NULL for doctors created natively in Supabase
    legacy_doctor_id              integer,
    doctor_id                     bigint,
    doctor_number                 text,
    license_number                text,
    npi_number                    text,
    specialty                     text,
    board_certifications          jsonb NOT NULL DEFAULT '{}',
    education                     jsonb NOT NULL DEFAULT '{}',
    years_experience              integer,
    primary_office_id             uuid,
    practice_type                 text,
    status                        public.doctor_status NOT NULL DEFAULT 'active',
    is_accepting_patients         boolean NOT NULL DEFAULT true,
    max_patient_load              integer,
    bio                           text,
    specialties                   jsonb NOT NULL DEFAULT '[]',
    languages_spoken              jsonb NOT NULL DEFAULT '[]',
    professional_memberships      jsonb NOT NULL DEFAULT '{}',
    consultation_duration_minutes integer,
    follow_up_duration_minutes    integer,
    working_hours                 jsonb NOT NULL DEFAULT '{}',
    consultation_fee              numeric(10, 2),
    accepts_insurance             boolean NOT NULL DEFAULT true,
    payment_terms                 jsonb NOT NULL DEFAULT '{}',
    licensed_since                date,
    joined_practice_at            timestamptz,
    migration_metadata            jsonb,          -- step 2.3 of the plan: how this row was migrated
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION public.set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER doctors_set_updated_at BEFORE UPDATE ON public.doctors
    FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.doctors ENABLE ROW LEVEL SECURITY;
