-- For the report and the dry run: how many updated rows change each column, with examples.
SELECT col AS column_name,
       count(*) AS doctors,
       (array_agg(c.legacy_user_id ORDER BY c.legacy_user_id))[1:5] AS example_legacy_ids
FROM pg_temp.doctor_changes AS c, unnest(c.changed_columns) AS col
WHERE c.action = 'update'
GROUP BY col
ORDER BY col;
