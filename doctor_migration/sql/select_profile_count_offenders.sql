-- Step 1.3: the clean doctors without exactly one doctor profile, with how many they have.
SELECT c.user_id, count(p.legacy_user_id) AS profiles
FROM doctor_migration.clean_doctors AS c
LEFT JOIN doctor_migration.profile_coverage AS p
       ON p.run_id = c.run_id AND p.legacy_user_id = c.user_id
WHERE c.run_id = %(run_id)s
GROUP BY c.user_id
HAVING count(p.legacy_user_id) <> 1
ORDER BY c.user_id;
