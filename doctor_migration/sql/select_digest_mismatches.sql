-- The reconciliation of the live target with a committed run (the checks of loaded_doctors
-- executed on their own): every migrated doctors row against the digest the run recorded for
-- its legacy user ({digest} is mapping.digest of d). A row is not clean when the run has no
-- digest for it, missing when the run has one and the target no row, differing when the
-- digests differ.
WITH recorded AS (
    SELECT legacy_user_id, digest
    FROM doctor_migration.run_digests
    WHERE run_id = %(run_id)s
),
migrated AS (
    SELECT d.legacy_user_id, {digest} AS digest
    FROM public.doctors AS d
    WHERE d.legacy_user_id IS NOT NULL
)
SELECT COALESCE(r.legacy_user_id, m.legacy_user_id) AS legacy_user_id,
       r.legacy_user_id IS NULL AS not_clean,
       m.legacy_user_id IS NULL AS missing,
       NULL::text[] AS columns
FROM recorded AS r
FULL JOIN migrated AS m ON m.legacy_user_id = r.legacy_user_id
WHERE r.digest IS DISTINCT FROM m.digest
ORDER BY 1;
