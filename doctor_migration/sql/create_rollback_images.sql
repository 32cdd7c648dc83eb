-- Rollback: the run's images, as text images of the columns they hold ({before} and {after}
-- are r.before and r.after, or for a format 1 run their conversion; composed with psycopg.sql).
CREATE TEMP TABLE {images} ON COMMIT DROP AS
SELECT r.doctor_id, r.legacy_user_id, r.action, {before} AS before, {after} AS after
FROM doctor_migration.row_changes AS r
WHERE r.run_id = %(run_id)s;
