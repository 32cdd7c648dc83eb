-- The tool's tables, of those named, that exist (read from the catalog by name: to_regclass raises when the
-- role has no USAGE on the schema).
SELECT c.relname
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = 'doctor_migration'
  AND c.relname = ANY(%(tables)s::text[]);
