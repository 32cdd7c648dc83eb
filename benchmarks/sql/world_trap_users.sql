-- Users step 1.1 must not select, ids n+1..: 2 %% of n each of inactive, no settings and no
-- office, only archived patients, no patients, test/demo/internal accounts; 4 %% of n
-- duplicates of clean doctors (same e-mail respelled in case and spacing) that lose step 1.1's
-- DISTINCT ON by each tie-break; one duplicate by first_last name of the e-mail-less doctor.
WITH sizes AS (
    SELECT greatest(6, %(n)s / 50) AS per_trap,
           greatest(3, %(n)s / 25) AS duplicates,
           greatest(1, (%(n)s - 9) / greatest(3, %(n)s / 25)) AS stride
),
trap AS (
    SELECT k.kind_order, k.kind, j
    FROM sizes,
         (VALUES (1, 'inactive'), (2, 'no_settings_no_office'), (3, 'only_archived_patients'),
                 (4, 'no_patients'), (5, 'test_account')) AS k(kind_order, kind),
         generate_series(1, sizes.per_trap) AS j
),
trap_rows AS (
    SELECT t.kind_order, t.j, t.kind,
           CASE WHEN t.kind = 'test_account' AND t.j %% 6 = 3 THEN 'Test'
                ELSE (%(first_names)s::text[])[1 + t.j %% 26] END AS first_name,
           CASE WHEN t.kind = 'test_account' AND t.j %% 6 = 4 THEN 'Contest'
                ELSE (%(last_names)s::text[])[1 + (t.j / 26) %% 26] || 'Other' END AS last_name,
           CASE WHEN t.kind <> 'test_account' OR t.j %% 6 IN (3, 4)
                     THEN 'u' || t.kind_order || '.' || t.j || '@other.example.com'
                WHEN t.j %% 6 = 0 THEN 'qa.test.' || t.j || '@smile1.example.com'
                WHEN t.j %% 6 = 1 THEN 'Dr.DEMO.' || t.j || '@smile2.example.com'
                WHEN t.j %% 6 = 2 THEN 'someone' || t.j || '@brius.com'
                ELSE 'lab' || t.j || '@mechanodontics.com' END AS email,
           t.kind <> 'inactive' AS is_active,
           timestamptz '2015-01-01 00:00:00+00' + random() * interval '3000 days' AS date_joined,
           timestamptz '2015-01-01 00:00:00+00' + random() * interval '3600 days' AS last_login,
           t.kind <> 'no_settings_no_office' AS has_settings,
           CASE WHEN t.kind = 'no_settings_no_office' THEN 0 ELSE 1 END AS offices,
           CASE WHEN t.kind IN ('only_archived_patients', 'no_patients') THEN 0
                ELSE 1 + floor(random() * 10)::integer END AS n_active,
           CASE WHEN t.kind = 'only_archived_patients' THEN 1 + floor(random() * 5)::integer
                ELSE 0 END AS n_archived
    FROM trap AS t
),
duplicate_rows AS (
    SELECT 6 AS kind_order, j,
           CASE j %% 3 WHEN 0 THEN 'duplicate_fewer_patients'
                      WHEN 1 THEN 'duplicate_older_login'
                      ELSE 'duplicate_higher_id' END AS kind,
           w.first_name, w.last_name,
           CASE WHEN j %% 2 = 1 THEN '  ' || upper(w.email) || ' ' ELSE initcap(w.email) END,
           true,
           timestamptz '2015-01-01 00:00:00+00' + random() * interval '3000 days',
           CASE j %% 3 WHEN 1 THEN w.last_login - interval '1 day' ELSE w.last_login END,
           true, 1,
           CASE j %% 3 WHEN 0 THEN w.n_active - 1 ELSE w.n_active END,
           0
    FROM sizes
    CROSS JOIN generate_series(0, sizes.duplicates - 1) AS j
    JOIN bench_users AS w ON w.id = 9 + j * sizes.stride
),
name_duplicate AS (
    SELECT 7, 1, 'duplicate_by_name', ' ' || upper(w.first_name), lower(w.last_name), '', true,
           w.date_joined, w.last_login, true, 1, 1, 0
    FROM bench_users AS w
    WHERE w.id = 1
),
everyone AS (
    SELECT * FROM trap_rows
    UNION ALL SELECT * FROM duplicate_rows
    UNION ALL SELECT * FROM name_duplicate
)
INSERT INTO bench_users (id, first_name, last_name, email, is_active, date_joined, last_login,
                         has_settings, offices, n_active, n_archived, null_every, kind)
SELECT %(n)s + row_number() OVER (ORDER BY e.kind_order, e.j), e.first_name, e.last_name,
       e.email, e.is_active, e.date_joined, e.last_login, e.has_settings, e.offices, e.n_active,
       e.n_archived, 3, e.kind
FROM everyone AS e;
