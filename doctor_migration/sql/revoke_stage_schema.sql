-- The API roles do not even see the stage's schema ({grantees} composed with psycopg.sql).
REVOKE ALL ON SCHEMA doctor_migration FROM {grantees};
