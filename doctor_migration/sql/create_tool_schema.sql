-- The tool's own schema on the target (the run ledger, the stage), never public: Supabase
-- exposes public through its Data API. It may have been made beforehand for a role without
-- CREATE on the database (sql/create_doctor_migrator.sql): CREATE SCHEMA IF NOT EXISTS would
-- still need that privilege, so it is made only when missing.
DO $$
BEGIN
    IF to_regnamespace('doctor_migration') IS NULL THEN
        CREATE SCHEMA doctor_migration;
        REVOKE ALL ON SCHEMA doctor_migration FROM PUBLIC;
    END IF;
END $$;
