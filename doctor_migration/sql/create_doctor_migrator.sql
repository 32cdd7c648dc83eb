-- A least-privilege login for doctor-migration on Supabase: run as `postgres` (the role of the
-- SQL editor and of the database URL Supabase gives you), then set a password with
-- ALTER ROLE doctor_migrator PASSWORD '...' (or psql's \password doctor_migrator).
-- It may run again: after a table that references public.doctors was added, it grants that too.
-- No BYPASSRLS (only a superuser may grant it, and no Supabase customer is one): policies that
-- show the tool every row instead, on the tables postgres owns.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'doctor_migrator') THEN
        CREATE ROLE doctor_migrator LOGIN;
    END IF;
END $$;

-- Connect, and the load's temporary tables (pg_temp.doctor_stage, ON COMMIT DROP): PUBLIC
-- has both unless the project revoked them, and only the database's owner may grant them.
DO $$
BEGIN
    IF NOT (has_database_privilege('doctor_migrator', current_database(), 'CONNECT')
            AND has_database_privilege('doctor_migrator', current_database(), 'TEMPORARY')) THEN
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO doctor_migrator',
                       current_database());
    END IF;
END $$;

-- Phase 1's profiles: read. The doctors: read, insert, update in place, delete the no longer
-- clean; and the rollback's writes back.
GRANT SELECT ON public.profiles TO doctor_migrator;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.doctors TO doctor_migrator;
DROP POLICY IF EXISTS doctor_migration_read ON public.profiles;
CREATE POLICY doctor_migration_read ON public.profiles
    FOR SELECT TO doctor_migrator USING (true);
DROP POLICY IF EXISTS doctor_migration_all ON public.doctors;
CREATE POLICY doctor_migration_all ON public.doctors
    FOR ALL TO doctor_migrator USING (true) WITH CHECK (true);

-- A serial column of doctors the load leaves to its default takes nextval of its sequence.
-- Tables whose foreign keys reference doctors: before deleting or un-inserting a doctors row
-- the tool counts the rows that point at it, so it reads their key columns, and every row of
-- them (a policy that hid one would let an ON DELETE CASCADE delete it unseen).
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT pg_get_serial_sequence('public.doctors', quote_ident(a.attname)) AS sequence_name
        FROM pg_attribute AS a
        WHERE a.attrelid = 'public.doctors'::regclass AND a.attnum > 0 AND NOT a.attisdropped
          AND pg_get_serial_sequence('public.doctors', quote_ident(a.attname)) IS NOT NULL
    LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO doctor_migrator', item.sequence_name);
    END LOOP;
    FOR item IN
        SELECT con.conrelid::regclass AS table_name,
               quote_ident(ns.nspname) AS schema_name,
               string_agg(DISTINCT quote_ident(att.attname), ', ') AS column_names
        FROM pg_constraint AS con
        JOIN pg_class AS rel ON rel.oid = con.conrelid
        JOIN pg_namespace AS ns ON ns.oid = rel.relnamespace
        JOIN pg_attribute AS att
          ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)
        WHERE con.contype = 'f' AND con.confrelid = 'public.doctors'::regclass
        GROUP BY con.conrelid, ns.nspname
    LOOP
        IF item.schema_name <> 'public' THEN
            EXECUTE format('GRANT USAGE ON SCHEMA %s TO doctor_migrator', item.schema_name);
        END IF;
        EXECUTE format('GRANT SELECT (%s) ON %s TO doctor_migrator',
                       item.column_names, item.table_name);
        EXECUTE format('DROP POLICY IF EXISTS doctor_migration_read ON %s', item.table_name);
        EXECUTE format('CREATE POLICY doctor_migration_read ON %s FOR SELECT '
                       'TO doctor_migrator USING (true)', item.table_name);
    END LOOP;
END $$;

-- The run ledger: its own schema, owned by doctor_migrator, so that every table the tool
-- makes there (the ledger now, more in later versions) is its own, with no CREATE on the
-- database (which would let it make any schema). Making a schema for another role needs
-- membership in it, which also lets postgres read the ledger. A ledger postgres's own runs
-- made is handed over with its tables; one they make later is doctor_migrator's to use too.
GRANT doctor_migrator TO postgres;
CREATE SCHEMA IF NOT EXISTS doctor_migration AUTHORIZATION doctor_migrator;
ALTER SCHEMA doctor_migration OWNER TO doctor_migrator;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA doctor_migration
    GRANT ALL ON TABLES TO doctor_migrator;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA doctor_migration
    GRANT ALL ON SEQUENCES TO doctor_migrator;
DO $$
DECLARE
    item record;
BEGIN
    FOR item IN
        SELECT c.oid::regclass AS table_name
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'doctor_migration' AND c.relkind IN ('r', 'p')
          AND c.relowner <> 'doctor_migrator'::regrole
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO doctor_migrator', item.table_name);
    END LOOP;
END $$;
