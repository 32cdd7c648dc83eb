-- The floor: migrated rows whose user is no longer clean. Native doctors are never touched.
DELETE FROM public.doctors AS d
WHERE d.legacy_user_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM floor_rows AS r WHERE r.legacy_user_id = d.legacy_user_id);
