-- Preflight: each table the tool needs (a qualified name looked up in the catalog, so a
-- schema without USAGE is reported rather than raised; an unqualified one resolved by the
-- search_path, as the statements that use it resolve it), the needed privileges the role lacks on it, and what row level
-- security would do: enabled, forced, and the needed commands that no permissive policy
-- grants to the role (directly, through a role it belongs to, or as PUBLIC). Superusers and
-- BYPASSRLS roles skip RLS, owners too unless it is forced. Only reads the catalog.
-- %(privileges)s holds, per table, the needed privileges as 'SELECT,INSERT,...'.
SELECT t.table_name,
       c.oid AS table_oid,
       quote_ident(n.nspname) AS schema_name,
       has_schema_privilege(c.relnamespace, 'USAGE') AS schema_usage,
       ARRAY(SELECT p.privilege
             FROM unnest(string_to_array(t.privilege_list, ',')) WITH ORDINALITY
                  AS p(privilege, ord)
             WHERE NOT has_table_privilege(c.oid, p.privilege)
             ORDER BY p.ord) AS missing_privileges,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       pg_has_role(c.relowner, 'USAGE') AS owns_table,
       ARRAY(SELECT p.privilege
             FROM unnest(string_to_array(t.privilege_list, ',')) WITH ORDINALITY
                  AS p(privilege, ord)
             WHERE NOT EXISTS (
                 SELECT 1
                 FROM pg_policy AS pol
                 WHERE pol.polrelid = c.oid
                   AND pol.polpermissive
                   AND pol.polcmd IN ('*', CASE p.privilege WHEN 'SELECT' THEN 'r'
                                                            WHEN 'INSERT' THEN 'a'
                                                            WHEN 'UPDATE' THEN 'w'
                                                            WHEN 'DELETE' THEN 'd' END)
                   AND EXISTS (SELECT 1
                               FROM unnest(pol.polroles) AS pr(role_oid)
                               WHERE CASE WHEN pr.role_oid = 0 THEN true
                                          ELSE pg_has_role(pr.role_oid, 'USAGE') END))
             ORDER BY p.ord) AS commands_without_policy
FROM unnest(%(tables)s::text[], %(privileges)s::text[]) AS t(table_name, privilege_list)
LEFT JOIN pg_class AS c
       ON c.oid = CASE WHEN strpos(t.table_name, '.') = 0 THEN to_regclass(t.table_name)
                       ELSE (SELECT q.oid
                             FROM pg_class AS q
                             JOIN pg_namespace AS qn ON qn.oid = q.relnamespace
                             WHERE qn.nspname = split_part(t.table_name, '.', 1)
                               AND q.relname = split_part(t.table_name, '.', 2)) END
LEFT JOIN pg_namespace AS n ON n.oid = c.relnamespace
ORDER BY array_position(%(tables)s::text[], t.table_name);
