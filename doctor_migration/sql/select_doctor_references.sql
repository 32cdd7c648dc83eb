-- Rows of one referencing table that point at the doctors rows a statement of the tool's
-- sql/ files selects (target.referencing_rows composes it in). The table, its referencing
-- columns and the doctors' referenced columns are identifiers composed with psycopg.sql.
SELECT d.id AS doctor_id, d.legacy_user_id, count(*) AS referencing_rows
FROM {table} AS t
JOIN public.doctors AS d ON ({referencing}) = ({referenced})
WHERE d.id IN (
{doctor_ids}
)
GROUP BY d.id, d.legacy_user_id
ORDER BY d.legacy_user_id, d.id;
