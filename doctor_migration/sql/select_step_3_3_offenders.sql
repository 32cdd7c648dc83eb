-- Step 3.3 before any write: the clean doctors whose e-mail, in the source or in their doctor
-- profile, matches one of step 3.3's rules (steps 1.1 and 3.3 of the plan, as written). Step
-- 3.3 reads the profile's e-mail after the load; step 1.1 reads the source's, and its internal
-- domains are case-sensitive ('Dave@BRIUS.COM' passes it, while Supabase Auth keeps
-- 'dave@brius.com'). Such a doctor would make the load roll back at step 3.3: named here, with
-- the rule and the side that matched, the run stops before anything is written. The patterns
-- and the rules' names are bound (names.TEST_ACCOUNT_RULES).
SELECT c.user_id, e.side, r.rule
FROM doctor_migration.clean_doctors AS c
LEFT JOIN doctor_migration.profile_coverage AS p
       ON p.run_id = c.run_id AND p.legacy_user_id = c.user_id
CROSS JOIN LATERAL (VALUES ('source', c.email), ('profile', p.email)) AS e(side, email)
CROSS JOIN LATERAL (VALUES
    (%(test_rule)s, lower(e.email) LIKE %(test)s),
    (%(demo_rule)s, lower(e.email) LIKE %(demo)s),
    (%(internal_1_rule)s, e.email LIKE %(internal_1)s),
    (%(internal_2_rule)s, e.email LIKE %(internal_2)s)
) AS r(rule, matches)
WHERE c.run_id = %(run_id)s AND r.matches
ORDER BY c.user_id, e.side DESC, r.rule;
