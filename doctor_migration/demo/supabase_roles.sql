-- Supabase's own database roles, as its published migrations create them. Cluster-wide: run once
-- per server, as supabase_admin (the bootstrap superuser, as on Supabase). The customer's
-- `postgres` is NOT a superuser: it has CREATEROLE, CREATEDB and BYPASSRLS, and is a member of
-- the API roles. service_role bypasses RLS, but its members do not inherit that attribute.
CREATE ROLE postgres LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;
GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO postgres WITH ADMIN OPTION;
GRANT pg_read_all_stats, pg_signal_backend TO postgres;
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
