-- Preflight: who the tool is on this database and what it may do beyond single tables.
-- Only reads the catalog; the ledger is looked up by name, since to_regclass raises when the
-- role has no USAGE on its schema. Creating the ledger (first run) needs CREATE on the
-- database, or, when schema doctor_migration exists (made for the role beforehand, as
-- sql/create_doctor_migrator.sql does), USAGE and CREATE on it; the load's staging tables
-- need TEMPORARY; a replica, or a session whose transactions are read-only by default, cannot
-- write at all.
SELECT quote_ident(current_user) AS role_name,
       quote_ident(current_database()) AS database_name,
       r.rolsuper AS is_superuser,
       r.rolbypassrls AS bypasses_rls,
       to_regnamespace('doctor_migration') IS NOT NULL AS ledger_schema_exists,
       CASE WHEN to_regnamespace('doctor_migration') IS NULL
            THEN has_database_privilege(current_database(), 'CREATE')
            ELSE has_schema_privilege('doctor_migration', 'USAGE')
                 AND has_schema_privilege('doctor_migration', 'CREATE') END AS may_create_ledger,
       has_database_privilege(current_database(), 'TEMPORARY') AS may_create_temp,
       pg_is_in_recovery() AS is_replica,
       current_setting('default_transaction_read_only')::boolean AS read_only_by_default,
       (SELECT count(*) = 2
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'doctor_migration'
          AND c.relname IN ('runs', 'row_changes')) AS ledger_exists
FROM pg_roles AS r
WHERE r.rolname = current_user;
