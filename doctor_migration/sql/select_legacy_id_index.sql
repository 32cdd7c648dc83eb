-- A valid index on public.doctors whose first column is legacy_user_id.
SELECT i.indexrelid::regclass::text
FROM pg_index AS i
JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = 'public.doctors'::regclass
  AND a.attname = 'legacy_user_id'
  AND i.indisvalid
LIMIT 1;
