-- The login {role} may only SELECT the plan's four tables: no TEMP, no writes.
-- {role} and {database} are identifiers composed with psycopg.sql.
REVOKE ALL ON DATABASE {database} FROM PUBLIC;
GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON auth_user, dispatch_usersetting, dispatch_office_doctors, dispatch_patient
    TO {role};
