-- After a lost connection: did the tool's transaction commit? 'committed', 'aborted',
-- 'in progress', or NULL when the id is too old for the server to remember.
SELECT pg_xact_status(%(xid)s::xid8) AS status;
