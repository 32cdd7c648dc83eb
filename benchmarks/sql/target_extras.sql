-- The rest of a target as doctor_migration/demo/world.py leaves it: a table that references
-- doctors.id, patient and admin profiles, and doctors created natively in Supabase (with an
-- appointment each), which the migration must never touch.
CREATE TABLE public.appointments (
    id        bigserial PRIMARY KEY,
    doctor_id uuid NOT NULL REFERENCES public.doctors (id),
    starts_at timestamptz
);

INSERT INTO public.profiles (legacy_user_id, first_name, last_name, email, profile_type)
SELECT 2000000000 + k, 'Pat' || k, 'Ient', 'patient' || k || '@mail.example.com', 'patient'
FROM generate_series(0, 19) AS k;

INSERT INTO public.profiles (legacy_user_id, first_name, last_name, email, profile_type)
VALUES (NULL, 'Ada', 'Admin', 'admin@practice.example.com', 'admin');

WITH native_profiles AS (
    INSERT INTO public.profiles (first_name, last_name, email, profile_type)
    SELECT 'Native' || k, 'Supabase', 'native' || k || '@practice.example.com', 'doctor'
    FROM generate_series(0, 4) AS k
    RETURNING id
), native_doctors AS (
    INSERT INTO public.doctors (profile_id, specialty, bio)
    SELECT p.id, 'Orthodontics', 'Joined after the cut-over' FROM native_profiles AS p
    RETURNING id
)
INSERT INTO public.appointments (doctor_id, starts_at)
SELECT d.id, now() FROM native_doctors AS d;
