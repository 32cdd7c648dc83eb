-- Preflight: each table the tool needs (a qualified name looked up in the catalog, so a
-- schema without USAGE is reported rather than raised; an unqualified one resolved by the
-- search_path, as the statements that use it resolve it), the needed privileges the role
-- lacks on it, and whether row level security provably shows it every row: enabled, forced,
-- the needed commands that no permissive policy of the role (directly, through a role it
-- belongs to, or as PUBLIC) allows on every row, and the restrictive policies that apply to
-- it. A policy's existence proves nothing (USING (created_at > '2024-01-01') hides old rows),
-- so only the expression `true` counts: USING for reading, updating and deleting, WITH CHECK
-- (or USING, where a policy has no WITH CHECK) for inserting and updating. Superusers and
-- BYPASSRLS roles skip RLS, owners too unless it is forced. Only reads the catalog.
-- %(privileges)s holds, per table, the needed privileges as 'SELECT,INSERT,...'; %(columns)s,
-- per table, the columns they are needed on as 'a,b' ('' for the whole table: a table that
-- references doctors is only read by its key columns).
WITH policy AS (
    SELECT pol.polrelid,
           pol.polname,
           pol.polcmd,
           pol.polpermissive,
           COALESCE(pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) = 'true', false)
               AS reads_every_row,
           COALESCE(pg_catalog.pg_get_expr(COALESCE(pol.polwithcheck, pol.polqual),
                                           pol.polrelid) = 'true', false) AS writes_any_row,
           COALESCE(pg_catalog.pg_get_expr(pol.polqual, pol.polrelid), 'true') = 'true'
               AND COALESCE(pg_catalog.pg_get_expr(COALESCE(pol.polwithcheck, pol.polqual),
                                                   pol.polrelid), 'true') = 'true' AS harmless
    FROM pg_catalog.pg_policy AS pol
    WHERE EXISTS (SELECT 1
                  FROM unnest(pol.polroles) AS pr(role_oid)
                  WHERE CASE WHEN pr.role_oid = 0 THEN true
                             ELSE pg_catalog.pg_has_role(pr.role_oid, 'USAGE') END)
),
needed AS (
    SELECT t.table_name, p.privilege, p.ord,
           CASE p.privilege WHEN 'SELECT' THEN 'r' WHEN 'INSERT' THEN 'a'
                            WHEN 'UPDATE' THEN 'w' WHEN 'DELETE' THEN 'd' END AS polcmd
    FROM unnest(%(tables)s::text[], %(privileges)s::text[]) AS t(table_name, privilege_list),
         unnest(string_to_array(t.privilege_list, ',')) WITH ORDINALITY AS p(privilege, ord)
)
SELECT t.table_name,
       c.oid AS table_oid,
       quote_ident(n.nspname) AS schema_name,
       has_schema_privilege(c.relnamespace, 'USAGE') AS schema_usage,
       ARRAY(SELECT k.privilege FROM needed AS k WHERE k.table_name = t.table_name
             ORDER BY k.ord) AS needed_privileges,
       ARRAY(SELECT k.privilege FROM needed AS k
             WHERE k.table_name = t.table_name
               AND NOT CASE WHEN t.column_list = '' THEN has_table_privilege(c.oid, k.privilege)
                            ELSE NOT EXISTS (
                                SELECT 1
                                FROM unnest(string_to_array(t.column_list, ',')) AS col(name)
                                WHERE NOT has_column_privilege(c.oid, col.name, k.privilege))
                       END
             ORDER BY k.ord) AS missing_privileges,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       pg_has_role(c.relowner, 'USAGE') AS owns_table,
       ARRAY(SELECT k.privilege FROM needed AS k
             WHERE k.table_name = t.table_name
               AND NOT ((k.privilege = 'INSERT'
                         OR EXISTS (SELECT 1 FROM policy AS pol
                                    WHERE pol.polrelid = c.oid AND pol.polpermissive
                                      AND pol.polcmd IN ('*', k.polcmd)
                                      AND pol.reads_every_row))
                        AND (k.privilege IN ('SELECT', 'DELETE')
                             OR EXISTS (SELECT 1 FROM policy AS pol
                                        WHERE pol.polrelid = c.oid AND pol.polpermissive
                                          AND pol.polcmd IN ('*', k.polcmd)
                                          AND pol.writes_any_row)))
             ORDER BY k.ord) AS commands_without_policy,
       ARRAY(SELECT quote_ident(pol.polname) FROM policy AS pol
             WHERE pol.polrelid = c.oid AND NOT pol.polpermissive AND NOT pol.harmless
               AND (pol.polcmd = '*'
                    OR pol.polcmd IN (SELECT k.polcmd FROM needed AS k
                                      WHERE k.table_name = t.table_name))
             ORDER BY pol.polname) AS restrictive_policies,
       ARRAY(SELECT quote_ident(col.name)
             FROM unnest(string_to_array(nullif(t.column_list, ''), ',')) AS col(name))
           AS columns
FROM unnest(%(tables)s::text[], %(columns)s::text[]) AS t(table_name, column_list)
LEFT JOIN pg_class AS c
       ON c.oid = CASE WHEN strpos(t.table_name, '.') = 0 THEN to_regclass(t.table_name)
                       ELSE (SELECT q.oid
                             FROM pg_class AS q
                             JOIN pg_namespace AS qn ON qn.oid = q.relnamespace
                             WHERE qn.nspname = split_part(t.table_name, '.', 1)
                               AND q.relname = split_part(t.table_name, '.', 2)) END
LEFT JOIN pg_namespace AS n ON n.oid = c.relnamespace
ORDER BY array_position(%(tables)s::text[], t.table_name);
