-- After a rollback: legacy users of the run left with more than one migrated doctors row
-- (a row made outside the ledger's runs since the run); the rollback must not commit that.
SELECT d.legacy_user_id, count(*) AS rows
FROM public.doctors AS d
WHERE d.legacy_user_id IN (SELECT r.legacy_user_id FROM {images} AS r)
GROUP BY d.legacy_user_id
HAVING count(*) > 1
ORDER BY d.legacy_user_id;
