-- Rows of the run that are no longer as the run left them (edited since, or gone, or a
-- deleted row that is back). A row the run inserted and kept as a digest is compared by
-- {digest}, the digest of d over the run's digest_columns. A row with an after-image is
-- compared as a text image, leaving out %(ignored)s: columns the target's triggers rewrite on
-- any write (a rollback's own included) and columns gone since. {current} is public.doctors
-- (or, for a format 1 run, its rows through to_jsonb), {image} the image of d over the
-- compared columns.
SELECT r.doctor_id, r.legacy_user_id, r.action,
       CASE WHEN d.id IS NULL AND r.action <> 'delete' THEN 'no longer exists'
            WHEN d.id IS NOT NULL AND r.action = 'delete' THEN 'exists again'
            ELSE 'changed since the run' END AS problem
FROM {images} AS r
LEFT JOIN {current} AS d ON d.id = r.doctor_id
WHERE CASE WHEN r.action = 'delete' THEN d.id IS NOT NULL
           WHEN r.after_digest IS NOT NULL THEN d.id IS NULL
                OR {digest} IS DISTINCT FROM r.after_digest
           ELSE d.id IS NULL
                OR {image} IS DISTINCT FROM (r.after - %(ignored)s::text[]) END
ORDER BY r.legacy_user_id, r.doctor_id;
