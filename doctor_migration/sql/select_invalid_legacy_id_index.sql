-- The index --create-indexes makes, if a failed CREATE INDEX CONCURRENTLY left it INVALID.
SELECT NOT i.indisvalid
FROM pg_index AS i
WHERE i.indexrelid = to_regclass('public.doctors_legacy_user_id_idx');
