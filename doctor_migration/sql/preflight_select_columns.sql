-- Preflight: the columns of one table (by oid) with their types, a
-- domain resolved to its base type, and an enum's labels. Only reads the catalog.
SELECT a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS declared_type,
       b.typname AS base_type,
       b.typtype AS type_kind,
       b.typcategory AS type_category,
       ARRAY(SELECT e.enumlabel FROM pg_enum AS e
             WHERE e.enumtypid = b.oid ORDER BY e.enumsortorder) AS enum_labels,
       a.attnotnull AS not_null,
       (a.atthasdef OR a.attidentity <> '') AS has_default,
       a.attgenerated <> '' AS generated,
       has_column_privilege(a.attrelid, a.attnum, 'SELECT') AS selectable
FROM pg_attribute AS a
JOIN pg_type AS t ON t.oid = a.atttypid
JOIN pg_type AS b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE a.attrelid = %(table_oid)s::oid
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attnum;
