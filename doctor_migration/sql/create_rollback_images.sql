-- Rollback: the run's images, as text images of the columns they hold ({before} and {after}
-- are r.before and r.after, or for a format 1 run their conversion), and the digests of the
-- rows it inserted ({after_digest}: r.after_digest, or null for a run that kept after-images;
-- composed with psycopg.sql).
CREATE TEMP TABLE {images} ON COMMIT DROP AS
SELECT r.doctor_id, r.legacy_user_id, r.action, {before} AS before, {after} AS after,
       {after_digest} AS after_digest
FROM doctor_migration.row_changes AS r
WHERE r.run_id = %(run_id)s;
