-- Preflight: the login roles that may connect and read the tool's tables (the stage holds
-- names and e-mails) whatever the grants on them say, so that no REVOKE can stop them:
-- superusers, members of pg_read_all_data, and the owners of the tool's tables (named in
-- %(tables)s; current_user owns those it will make) and their members (SET ROLE, or inherited
-- privileges). Not the tool's own role, nor %(platform_roles)s (Supabase's own, which read
-- every table of a project anyway). Only reads the catalog.
WITH owner AS (
    SELECT c.relowner AS oid
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = 'doctor_migration' AND c.relname = ANY(%(tables)s::text[])
    UNION
    SELECT r.oid FROM pg_roles AS r WHERE r.rolname = current_user
)
SELECT quote_ident(r.rolname) AS role_name,
       r.rolsuper AS is_superuser,
       pg_has_role(r.oid, 'pg_read_all_data', 'MEMBER') AS reads_all_data,
       ARRAY(SELECT quote_ident(w.rolname)
             FROM owner AS o
             JOIN pg_roles AS w ON w.oid = o.oid
             WHERE pg_has_role(r.oid, o.oid, 'MEMBER')
             ORDER BY w.rolname) AS owners
FROM pg_roles AS r
WHERE r.rolcanlogin
  AND r.rolname <> current_user
  AND r.rolname <> ALL(%(platform_roles)s::text[])
  AND (r.rolsuper OR has_database_privilege(r.oid, current_database(), 'CONNECT'))
  AND (r.rolsuper
       OR pg_has_role(r.oid, 'pg_read_all_data', 'MEMBER')
       OR EXISTS (SELECT 1 FROM owner AS o WHERE pg_has_role(r.oid, o.oid, 'MEMBER')))
ORDER BY r.rolname;
