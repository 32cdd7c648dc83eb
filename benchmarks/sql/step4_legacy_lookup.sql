-- Plan step 4.2, with a real migrated legacy id bound in place of the plan's 257.
EXPLAIN (ANALYZE, FORMAT JSON)
SELECT * FROM doctors WHERE legacy_user_id = %(legacy_user_id)s
