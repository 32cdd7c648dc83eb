-- The columns the run's images hold (the columns doctors had when the run wrote them).
SELECT DISTINCT k.key
FROM rollback_images AS r,
     jsonb_object_keys(coalesce(r.before, r.after)) AS k (key);
