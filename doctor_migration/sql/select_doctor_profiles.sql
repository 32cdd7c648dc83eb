-- Phase 1 of the plan: the doctor profiles the earlier profile migration made, by legacy id.
SELECT p.id, p.legacy_user_id, p.first_name, p.last_name, p.email
FROM public.profiles AS p
WHERE p.profile_type = 'doctor'
  AND p.legacy_user_id IS NOT NULL
ORDER BY p.legacy_user_id, p.id;
