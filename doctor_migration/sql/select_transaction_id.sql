-- The id of the tool's transaction (assigned now) and its server process, so that after a
-- lost connection the tool can tell whether it committed. pg_backend_pid(), not the client's
-- idea of it: through a pooler the client does not know the server process.
SELECT pg_current_xact_id()::text AS xid, pg_backend_pid() AS pid;
