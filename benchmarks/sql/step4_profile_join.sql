-- Plan step 4.1, verbatim but for the EXPLAIN options.
EXPLAIN (ANALYZE, FORMAT JSON)
SELECT d.*, p.first_name, p.last_name, p.email
FROM doctors d
JOIN profiles p ON d.profile_id = p.id
WHERE d.status = 'active'
