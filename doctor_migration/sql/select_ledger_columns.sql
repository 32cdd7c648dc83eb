-- The columns (and types) of whatever tables named like the ledger's exist, to tell the tool's
-- ledger from a foreign doctor_migration schema. Read from the catalog by name, since
-- to_regclass raises when the role has no USAGE on the schema.
SELECT c.relname, a.attname, format_type(a.atttypid, NULL)
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = 'doctor_migration'
  AND c.relname IN ('runs', 'row_changes', 'run_digests')
ORDER BY c.relname, a.attnum;
