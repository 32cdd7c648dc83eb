-- Users on whom the accounting and the plan's own SQL disagree: migrated by the accounting
-- but not in step 1.1's result ('not_in_plan'), or the other way round ('not_accounted').
SELECT u.user_id, 'not_in_plan' AS side
FROM doctor_migration.source_users AS u
WHERE u.run_id = %(run_id)s AND u.outcome = %(migrated)s
  AND NOT EXISTS (SELECT 1 FROM doctor_migration.clean_doctors AS c
                  WHERE c.run_id = u.run_id AND c.user_id = u.user_id)
UNION ALL
SELECT c.user_id, 'not_accounted'
FROM doctor_migration.clean_doctors AS c
WHERE c.run_id = %(run_id)s
  AND NOT EXISTS (SELECT 1 FROM doctor_migration.source_users AS u
                  WHERE u.run_id = c.run_id AND u.user_id = c.user_id
                    AND u.outcome = %(migrated)s)
ORDER BY 1;
