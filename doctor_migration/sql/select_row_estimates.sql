-- The catalog's estimate of each table's rows: pg_class.reltuples, as of the table's last
-- VACUUM, ANALYZE or CREATE INDEX (-1 when it was never counted, NULL for no such table). An
-- unqualified name is resolved by the search_path, as the statements that read it resolve it.
-- Only reads the catalog: no lock, no row read.
SELECT t.table_name, c.reltuples::bigint AS estimate
FROM unnest(%(tables)s::text[]) WITH ORDINALITY AS t(table_name, ord)
LEFT JOIN pg_catalog.pg_class AS c ON c.oid = to_regclass(t.table_name)
ORDER BY t.ord;
