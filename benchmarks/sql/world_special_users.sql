-- Edge cases that are still clean, once each (as in doctor_migration/demo/world.py).
UPDATE bench_users SET email = '', n_active = 5 WHERE id = 1;            -- first_last key
UPDATE bench_users SET email = '   ' WHERE id = 2;                       -- whitespace e-mail
UPDATE bench_users SET email = '  Mixed.Case.3@Smile.Example.COM ' WHERE id = 3;
UPDATE bench_users SET last_login = NULL WHERE id = 4;
UPDATE bench_users SET n_active = 2, n_archived = 1, null_every = 1 WHERE id = 5;  -- only NULL
UPDATE bench_users SET has_settings = true, offices = 0 WHERE id = 6;    -- settings only
UPDATE bench_users SET has_settings = false, offices = 3 WHERE id = 7;   -- offices only
UPDATE bench_users
SET date_joined = timestamptz '2016-11-24 23:59:59+00' WHERE id = 8;     -- a UTC day boundary
