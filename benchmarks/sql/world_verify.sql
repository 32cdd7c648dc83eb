-- The plan's step 1.1 (composed in verbatim below) against the generator's own answer.
SELECT count(*) AS selected,
       count(*) FILTER (WHERE u.kind = 'clean') AS clean
FROM ({step_1_1}
) AS c
JOIN bench_users AS u ON u.id = c.user_id
