-- profile_coverage's metadata: profiles, legacy users with one, and those with several.
SELECT count(*) AS profiles,
       count(DISTINCT legacy_user_id) AS legacy_users,
       (SELECT array_agg(legacy_user_id ORDER BY legacy_user_id)
          FROM (SELECT legacy_user_id FROM doctor_migration.profile_coverage
                 WHERE run_id = %(run_id)s
                 GROUP BY legacy_user_id HAVING count(*) > 1) AS several) AS several
FROM doctor_migration.profile_coverage
WHERE run_id = %(run_id)s;
