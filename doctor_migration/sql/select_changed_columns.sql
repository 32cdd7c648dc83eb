-- For the report and the dry run: how many updated rows change each column, with examples.
-- Rows the tool never wrote (no step 2.3 migration_date: a row the operator adopted from the
-- app) come first among the examples, so the app-entered values a run overwrites are named.
SELECT col AS column_name,
       count(*) AS doctors,
       (array_agg(c.legacy_user_id
                  ORDER BY COALESCE(d.migration_metadata::jsonb ? 'migration_date', false),
                           c.legacy_user_id))[1:5] AS example_legacy_ids
FROM pg_temp.doctor_changes AS c
JOIN public.doctors AS d ON d.id = c.doctor_id,
     unnest(c.changed_columns) AS col
WHERE c.action = 'update'
GROUP BY col
ORDER BY col;
