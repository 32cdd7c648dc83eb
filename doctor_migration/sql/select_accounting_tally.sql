-- Every source user by outcome, from this command's stage.
SELECT outcome, count(*) AS users
FROM doctor_migration.source_users
WHERE run_id = %(run_id)s
GROUP BY outcome;
