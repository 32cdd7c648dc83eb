-- Every privilege on one of the tool's tables (and its columns) from the roles
-- select_extra_table_grants.sql found; CASCADE takes the grants they passed on with them.
-- {table} and {grantees} are composed with psycopg.sql.
REVOKE ALL ON TABLE {table} FROM {grantees} CASCADE;
