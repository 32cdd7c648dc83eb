-- The migrated doctors row of one legacy user, if any.
SELECT d.id, d.doctor_number, d.profile_id, d.created_at, d.updated_at
FROM public.doctors AS d
WHERE d.legacy_user_id = %(user_id)s
ORDER BY d.id;
