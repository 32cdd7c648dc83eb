-- A login role that may only SELECT the plan's four tables (as demo/run.py's legacy_reader).
REVOKE ALL ON DATABASE {database} FROM PUBLIC;
GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT ON auth_user, dispatch_usersetting, dispatch_office_doctors, dispatch_patient
    TO {role};
