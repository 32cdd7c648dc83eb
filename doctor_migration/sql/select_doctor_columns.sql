-- The writable columns of public.doctors (all of them, known to this project or not).
SELECT a.attname
FROM pg_attribute AS a
WHERE a.attrelid = 'public.doctors'::regclass
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND a.attgenerated = ''
ORDER BY a.attnum;
