-- Step 1.3 over this command's stage, in one pass (gates.py): the clean doctors counted (also
-- the clean_doctors step's metadata), and each clean doctor a stop condition names, with what
-- it finds:
-- * profiles: how many doctor profiles the doctor has; one is wanted.
-- * differing: for a doctor with exactly one, the fields whose profile value differs from the
--   source's, compared trimmed (of %(whitespace)s) and lower-cased, NULL as empty.
-- * source_rules, profile_rules: step 3.3's rules that its e-mail matches, in the source and in
--   any of its profiles (steps 1.1 and 3.3 of the plan, as written). Step 3.3 reads the
--   profile's e-mail after the load; step 1.1 reads the source's, and its internal domains are
--   case-sensitive ('Dave@BRIUS.COM' passes it, while Supabase Auth keeps 'dave@brius.com').
--   Such a doctor would make the load roll back at step 3.3: named here, the run stops before
--   anything is written. The patterns and the rules' names are bound (names.TEST_ACCOUNT_RULES).
-- Only ids, counts and the names of fields and rules come back, never a name or an e-mail.
WITH profiles AS (
    SELECT p.legacy_user_id,
           count(*) AS profiles,
           min(p.first_name) AS first_name,
           min(p.last_name) AS last_name,
           min(p.email) AS email,
           array_remove(ARRAY[
               CASE WHEN bool_or(lower(p.email) LIKE %(test)s) THEN %(test_rule)s END,
               CASE WHEN bool_or(lower(p.email) LIKE %(demo)s) THEN %(demo_rule)s END,
               CASE WHEN bool_or(p.email LIKE %(internal_1)s) THEN %(internal_1_rule)s END,
               CASE WHEN bool_or(p.email LIKE %(internal_2)s) THEN %(internal_2_rule)s END
           ], NULL) AS rules
    FROM doctor_migration.profile_coverage AS p
    WHERE p.run_id = %(run_id)s
    GROUP BY p.legacy_user_id
),
doctors AS (
    SELECT c.user_id, c.email, c.has_office_assignment, c.has_settings,
           coalesce(p.profiles, 0) AS profiles,
           -- Values equal as they are need no trimming and lower-casing.
           CASE WHEN p.profiles = 1 THEN array_remove(ARRAY[
               CASE WHEN c.first_name IS DISTINCT FROM p.first_name
                     AND lower(btrim(COALESCE(c.first_name, ''), %(whitespace)s))
                         <> lower(btrim(COALESCE(p.first_name, ''), %(whitespace)s))
                    THEN 'first_name' END,
               CASE WHEN c.last_name IS DISTINCT FROM p.last_name
                     AND lower(btrim(COALESCE(c.last_name, ''), %(whitespace)s))
                         <> lower(btrim(COALESCE(p.last_name, ''), %(whitespace)s))
                    THEN 'last_name' END,
               CASE WHEN c.email IS DISTINCT FROM p.email
                     AND lower(btrim(COALESCE(c.email, ''), %(whitespace)s))
                         <> lower(btrim(COALESCE(p.email, ''), %(whitespace)s))
                    THEN 'email' END
           ], NULL) END AS differing,
           array_remove(ARRAY[
               CASE WHEN lower(c.email) LIKE %(test)s THEN %(test_rule)s END,
               CASE WHEN lower(c.email) LIKE %(demo)s THEN %(demo_rule)s END,
               CASE WHEN c.email LIKE %(internal_1)s THEN %(internal_1_rule)s END,
               CASE WHEN c.email LIKE %(internal_2)s THEN %(internal_2_rule)s END
           ], NULL) AS source_rules,
           coalesce(p.rules, '{}') AS profile_rules
    FROM doctor_migration.clean_doctors AS c
    LEFT JOIN profiles AS p ON p.legacy_user_id = c.user_id
    WHERE c.run_id = %(run_id)s
)
SELECT count(*) AS clean_doctors,
       count(*) FILTER (WHERE has_office_assignment) AS with_office_assignment,
       count(*) FILTER (WHERE has_settings) AS with_settings,
       count(*) FILTER (WHERE email IS NULL OR email = '') AS deduplicated_by_name,
       count(*) FILTER (WHERE profiles = 1) AS compared,
       coalesce(jsonb_agg(jsonb_build_object(
                    'user_id', user_id, 'profiles', profiles, 'differing', differing,
                    'source_rules', source_rules, 'profile_rules', profile_rules)
                ORDER BY user_id)
                FILTER (WHERE profiles <> 1 OR differing <> '{}' OR source_rules <> '{}'
                              OR profile_rules <> '{}'), '[]') AS offenders
FROM doctors;
