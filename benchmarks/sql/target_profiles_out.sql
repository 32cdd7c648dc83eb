-- Run on the source by the world builder: a doctor profile for every user who has a patient
-- (as doctor_migration/demo/world.py makes them), names and e-mails respelled in case and
-- spacing the way the profile migration might have left them. Piped into the target by COPY.
COPY (
    SELECT gen_random_uuid(),
           u.id,
           CASE WHEN u.id % 3 = 0 THEN upper(u.first_name) ELSE u.first_name END,
           u.last_name,
           CASE WHEN u.id % 4 = 0 THEN ' ' || upper(trim(u.email)) ELSE trim(u.email) END,
           'doctor'
    FROM bench_users AS u
    WHERE u.n_active + u.n_archived > 0
    ORDER BY u.id
) TO STDOUT
