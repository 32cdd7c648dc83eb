-- Every foreign key that references public.doctors, with its referencing columns.
SELECT con.conname AS constraint_name,
       ns.nspname AS table_schema,
       rel.relname AS table_name,
       array_agg(att.attname ORDER BY k.ord) AS columns,
       array_agg(ref.attname ORDER BY k.ord) AS referenced_columns
FROM pg_constraint AS con
JOIN pg_class AS rel ON rel.oid = con.conrelid
JOIN pg_namespace AS ns ON ns.oid = rel.relnamespace
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refnum, ord)
JOIN pg_attribute AS att ON att.attrelid = con.conrelid AND att.attnum = k.attnum
JOIN pg_attribute AS ref ON ref.attrelid = con.confrelid AND ref.attnum = k.refnum
WHERE con.contype = 'f'
  AND con.confrelid = 'public.doctors'::regclass
GROUP BY con.conname, ns.nspname, rel.relname
ORDER BY ns.nspname, rel.relname, con.conname;
