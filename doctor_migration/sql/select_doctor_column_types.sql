-- Every column of public.doctors (known to this project or not), with what writing it back
-- from its text output needs: its type, for the cast, and whether the database computes it.
SELECT a.attname, tn.nspname, t.typname, a.attgenerated <> '' AS generated,
       a.attidentity = 'a' AS identity_always
FROM pg_attribute AS a
JOIN pg_type AS t ON t.oid = a.atttypid
JOIN pg_namespace AS tn ON tn.oid = t.typnamespace
WHERE a.attrelid = 'public.doctors'::regclass
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attnum;
