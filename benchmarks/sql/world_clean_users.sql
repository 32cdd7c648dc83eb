-- %(n)s clean doctors, ids 1..n: settings and/or an office, 2 to 40 active patients (every third
-- with archived NULL) and 0 to 3 archived ones, a unique e-mail, names like demo/world.py's.
INSERT INTO bench_users (id, first_name, last_name, email, is_active, date_joined, last_login,
                         has_settings, offices, n_active, n_archived, null_every, kind)
SELECT g.i,
       g.first_name,
       g.last_name,
       lower(g.first_name || '.' || g.last_name || '.' || g.i || '@smile' || g.i %% 7
             || '.example.com'),
       true,
       timestamptz '2015-01-01 00:00:00+00' + g.r_joined * interval '3000 days',
       timestamptz '2015-01-01 00:00:00+00' + g.r_login * interval '3600 days',
       g.r_settings < 0.8,
       CASE WHEN g.r_settings >= 0.8 AND g.offices = 0 THEN 1 ELSE g.offices END,
       2 + floor(g.r_active * 39)::integer,
       floor(g.r_archived * 4)::integer,
       3,
       'clean'
FROM (
    SELECT i,
           (%(first_names)s::text[])[1 + i %% 26] AS first_name,
           (%(last_names)s::text[])[1 + (i / 26) %% 26]
               || CASE WHEN i / 676 > 0 THEN (i / 676)::text ELSE '' END AS last_name,
           (ARRAY[0, 1, 1, 1, 2, 3])[1 + floor(random() * 6)::integer] AS offices,
           random() AS r_joined, random() AS r_login, random() AS r_settings,
           random() AS r_active, random() AS r_archived
    FROM generate_series(1, %(n)s) AS i
) AS g;
