-- The contract's legacy tables from bench_users, set-based. Runs after legacy_source.sql in
-- the same transaction, with session_replication_role = replica (the generator's rows are
-- consistent by construction; checking 2.3M foreign keys one trigger call at a time is not
-- what is being measured).
INSERT INTO dispatch_office (id, name)
SELECT o, 'Office ' || o FROM generate_series(1, 25) AS o;

INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name,
                       email, is_staff, is_active, date_joined)
SELECT u.id, '!', u.last_login, false, 'user' || u.id, u.first_name, u.last_name, u.email,
       false, u.is_active, u.date_joined
FROM bench_users AS u
ORDER BY u.id;

INSERT INTO dispatch_usersetting (user_id)
SELECT u.id FROM bench_users AS u WHERE u.has_settings ORDER BY u.id;

INSERT INTO dispatch_office_doctors (office_id, user_id)
SELECT (u.id + k) % 25 + 1, u.id
FROM bench_users AS u, generate_series(0, u.offices - 1) AS k
ORDER BY u.id, k;

INSERT INTO dispatch_patient (doctor_id, first_name, last_name, archived)
SELECT u.id, 'Patient' || k, 'Of' || u.id,
       CASE WHEN k > u.n_active THEN true
            WHEN k % u.null_every = 0 THEN NULL
            ELSE false END
FROM bench_users AS u, generate_series(1, u.n_active + u.n_archived) AS k
ORDER BY u.id, k;

INSERT INTO dispatch_patient (doctor_id, first_name, last_name, archived)
VALUES (NULL, 'Nobody''s', 'Patient', NULL);

SELECT setval(pg_get_serial_sequence('auth_user', 'id'), (SELECT max(id) FROM auth_user));
SELECT setval(pg_get_serial_sequence('dispatch_office', 'id'), 25);
