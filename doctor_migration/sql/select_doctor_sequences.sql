-- The sequences an INSERT into public.doctors takes values from, through the columns it leaves
-- to their default (%(written)s are the columns insert_doctors.sql sets): identity columns,
-- and defaults that call nextval (serial). Each takes one value per inserted row and column,
-- and nextval is not transactional: a rolled-back insert (a dry run's) does not give them back.
-- A trigger or a function that calls nextval itself is not seen here.
SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname) AS sequence_name,
       count(*) AS values_per_row
FROM pg_attribute AS a
JOIN pg_depend AS dep
  ON dep.refclassid = 'pg_class'::regclass
 AND (   (a.attidentity <> ''
          AND dep.classid = 'pg_class'::regclass
          AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i')
      OR (a.attidentity = ''
          AND dep.classid = 'pg_attrdef'::regclass
          AND dep.objid = (SELECT ad.oid FROM pg_attrdef AS ad
                           WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum)))
JOIN pg_class AS s
  ON s.oid = CASE WHEN a.attidentity <> '' THEN dep.objid ELSE dep.refobjid END
 AND s.relkind = 'S'
JOIN pg_namespace AS sn ON sn.oid = s.relnamespace
WHERE a.attrelid = 'public.doctors'::regclass
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND a.attgenerated = ''
  AND a.attname <> ALL (%(written)s::text[])
GROUP BY sn.nspname, s.relname
ORDER BY 1;
