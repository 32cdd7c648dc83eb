-- Step 1.3: the clean doctors whose doctor profile already holds a doctors row that is not
-- their own migrated row: a native doctor (legacy_user_id NULL) or a row migrated for another
-- legacy user. The load would add a second doctors row to the profile.
SELECT c.user_id, p.profile_id, d.id AS doctor_id, d.legacy_user_id AS migrated_for
FROM doctor_migration.clean_doctors AS c
JOIN doctor_migration.profile_coverage AS p
  ON p.run_id = c.run_id AND p.legacy_user_id = c.user_id
JOIN public.doctors AS d
  ON d.profile_id = p.profile_id AND d.legacy_user_id IS DISTINCT FROM c.user_id
WHERE c.run_id = %(run_id)s
ORDER BY c.user_id, d.id;
