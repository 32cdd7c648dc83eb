-- Between timed runs: the target as the world builder left it (native doctors kept).
DELETE FROM public.doctors WHERE legacy_user_id IS NOT NULL;
DROP SCHEMA IF EXISTS doctor_migration CASCADE;
