-- After a rollback: rows of the run that differ from their before-image (compared as in
-- select_rows_changed_since_run.sql), or that exist though the run inserted them.
SELECT r.doctor_id
FROM {images} AS r
LEFT JOIN {current} AS d ON d.id = r.doctor_id
WHERE CASE WHEN r.action = 'insert' THEN d.id IS NOT NULL
           ELSE d.id IS NULL OR {image} IS DISTINCT FROM (r.before - %(ignored)s::text[]) END;
