-- A refused rollback: for each of %(doctor_ids)s that has an after-image (rows of the run that
-- changed since), the columns in which the row now differs from it, compared as
-- select_rows_changed_since_run.sql compares them ({current}, and {image} over the compared
-- columns, leaving out %(ignored)s).
SELECT r.doctor_id,
       ARRAY(SELECT n.key
             FROM jsonb_each({image}) AS n
             WHERE n.value IS DISTINCT FROM (r.after - %(ignored)s::text[]) -> n.key) AS columns
FROM rollback_images AS r
JOIN {current} AS d ON d.id = r.doctor_id
WHERE r.doctor_id = ANY(%(doctor_ids)s::uuid[]) AND r.after IS NOT NULL;
