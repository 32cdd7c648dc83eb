-- Rows of one referencing table that point at the given doctors rows.
-- {table}, {referencing} and {referenced} are identifiers composed with psycopg.sql.
SELECT d.id AS doctor_id, d.legacy_user_id, count(*) AS referencing_rows
FROM {table} AS t
JOIN public.doctors AS d ON ({referencing}) = ({referenced})
WHERE d.id = ANY(%(doctor_ids)s::uuid[])
GROUP BY d.id, d.legacy_user_id
ORDER BY d.legacy_user_id, d.id;
