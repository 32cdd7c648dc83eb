-- What the load does to each doctors row: insert, update (and which mapped columns change),
-- leave unchanged, or delete (a migrated row whose user is no longer clean).
-- Native doctors (legacy_user_id IS NULL) never appear here.
-- migration_metadata.migration_date is ignored when comparing, so a rerun on another day of
-- unchanged data writes nothing.
CREATE TEMP TABLE doctor_changes ON COMMIT DROP AS
SELECT d.id AS doctor_id,
       s.legacy_user_id,
       CASE WHEN d.id IS NULL THEN 'insert'
            WHEN diff.columns IS NULL THEN 'unchanged'
            ELSE 'update' END AS action,
       diff.columns AS changed_columns
FROM doctor_stage AS s
LEFT JOIN public.doctors AS d ON d.legacy_user_id = s.legacy_user_id
LEFT JOIN LATERAL (SELECT to_jsonb(s) AS new, to_jsonb(d) AS old) AS j ON d.id IS NOT NULL
LEFT JOIN LATERAL (
    SELECT array_agg(n.key ORDER BY n.key) AS columns
    FROM jsonb_each(j.new) AS n
    WHERE CASE WHEN n.key = 'migration_metadata' AND jsonb_typeof(j.old -> n.key) = 'object'
               THEN (n.value - 'migration_date') IS DISTINCT FROM ((j.old -> n.key) - 'migration_date')
               ELSE n.value IS DISTINCT FROM (j.old -> n.key) END
) AS diff ON d.id IS NOT NULL
UNION ALL
SELECT d.id, d.legacy_user_id, 'delete', NULL
FROM public.doctors AS d
WHERE d.legacy_user_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM doctor_stage AS s WHERE s.legacy_user_id = d.legacy_user_id);
