-- Step 1.3: for clean doctors with exactly one doctor profile, the fields whose profile value
-- differs from the source's, compared trimmed (of %(whitespace)s) and lower-cased, NULL as
-- empty. The first row carries how many were compared (user_id NULL); then one row per
-- offender.
WITH single AS (
    SELECT p.legacy_user_id, min(p.first_name) AS first_name, min(p.last_name) AS last_name,
           min(p.email) AS email
    FROM doctor_migration.profile_coverage AS p
    WHERE p.run_id = %(run_id)s
    GROUP BY p.legacy_user_id
    HAVING count(*) = 1
),
compared AS (
    SELECT c.user_id,
           array_remove(ARRAY[
               CASE WHEN lower(btrim(COALESCE(c.first_name, ''), %(whitespace)s))
                         <> lower(btrim(COALESCE(s.first_name, ''), %(whitespace)s))
                    THEN 'first_name' END,
               CASE WHEN lower(btrim(COALESCE(c.last_name, ''), %(whitespace)s))
                         <> lower(btrim(COALESCE(s.last_name, ''), %(whitespace)s))
                    THEN 'last_name' END,
               CASE WHEN lower(btrim(COALESCE(c.email, ''), %(whitespace)s))
                         <> lower(btrim(COALESCE(s.email, ''), %(whitespace)s))
                    THEN 'email' END
           ], NULL) AS columns
    FROM doctor_migration.clean_doctors AS c
    JOIN single AS s ON s.legacy_user_id = c.user_id
    WHERE c.run_id = %(run_id)s
)
SELECT NULL::bigint AS user_id, NULL::text[] AS columns, count(*) AS compared FROM compared
UNION ALL
(SELECT user_id, columns, NULL FROM compared WHERE cardinality(columns) > 0 ORDER BY user_id);
