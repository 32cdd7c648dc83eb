SELECT u.kind, count(*) AS users, sum(u.n_active + u.n_archived) AS patients
FROM bench_users AS u
GROUP BY u.kind
ORDER BY u.kind
