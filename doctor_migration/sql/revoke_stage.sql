-- Nobody but the tool's role reads the stage: it holds names and e-mails. Default privileges
-- ("ALTER DEFAULT PRIVILEGES ... GRANT ... ON TABLES") may have granted them at CREATE TABLE.
-- {tables} and {grantees} are composed with psycopg.sql.
REVOKE ALL ON TABLE {tables} FROM {grantees};
