-- Migrated rows whose legacy user is no longer clean. Never touches legacy_user_id IS NULL.
-- Their before-images were written to the ledger just before.
DELETE FROM public.doctors AS d
USING pg_temp.doctor_changes AS c
WHERE c.action = 'delete'
  AND d.id = c.doctor_id
  AND d.legacy_user_id IS NOT NULL;
