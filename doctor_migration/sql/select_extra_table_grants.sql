-- The grants on the tool's tables (named in %(tables)s, in schema doctor_migration) that any
-- role holds but the tool's own (current_user), the table's owner and the schema's owner
-- (sql/create_doctor_migrator.sql makes doctor_migrator own it, and default privileges give it
-- the tables postgres makes there): PUBLIC (a NULL grantee) or a role, on the table or on any of
-- its columns, whether default privileges gave them at CREATE TABLE or a GRANT came later. The
-- stage holds names and e-mails. may_revoke: the tool's role has its owner's privileges, so its
-- REVOKE is the owner's. One row per table with such grants, the grantees also as a sentence
-- quotes them; only reads the catalog.
SELECT c.relname AS table_name,
       quote_ident(o.rolname) AS owner_name,
       pg_has_role(c.relowner, 'USAGE') AS may_revoke,
       array_agg(DISTINCT g.rolname ORDER BY g.rolname) AS grantees,
       string_agg(DISTINCT COALESCE(quote_ident(g.rolname), 'PUBLIC'), ', '
                  ORDER BY COALESCE(quote_ident(g.rolname), 'PUBLIC')) AS grantees_shown
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_roles AS o ON o.oid = c.relowner
CROSS JOIN LATERAL (
    SELECT t.grantee FROM aclexplode(c.relacl) AS t
    UNION
    SELECT col.grantee
    FROM pg_attribute AS a, aclexplode(a.attacl) AS col
    WHERE a.attrelid = c.oid AND a.attacl IS NOT NULL
) AS acl
LEFT JOIN pg_roles AS g ON g.oid = acl.grantee
WHERE n.nspname = 'doctor_migration'
  AND c.relname = ANY(%(tables)s::text[])
  AND acl.grantee NOT IN (c.relowner, n.nspowner,
                          (SELECT r.oid FROM pg_roles AS r WHERE r.rolname = current_user))
GROUP BY c.relname, o.rolname, c.relowner
ORDER BY c.relname;
