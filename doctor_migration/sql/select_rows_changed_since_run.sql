-- Rows of the run that are no longer as the run left them (edited since, or gone, or a
-- deleted row that is back). updated_at is left out: the target's trigger sets it on every
-- write, a rollback's own included, so it cannot be restored; any real edit changes more.
SELECT r.doctor_id, r.legacy_user_id, r.action,
       CASE WHEN d.id IS NULL AND r.action <> 'delete' THEN 'no longer exists'
            WHEN d.id IS NOT NULL AND r.action = 'delete' THEN 'exists again'
            ELSE 'changed since the run' END AS problem
FROM doctor_migration.row_changes AS r
LEFT JOIN public.doctors AS d ON d.id = r.doctor_id
WHERE r.run_id = %(run_id)s
  AND CASE WHEN r.action = 'delete' THEN d.id IS NOT NULL
           ELSE d.id IS NULL
                OR (to_jsonb(d) - 'updated_at') IS DISTINCT FROM (r.after - 'updated_at') END
ORDER BY r.legacy_user_id, r.doctor_id;
