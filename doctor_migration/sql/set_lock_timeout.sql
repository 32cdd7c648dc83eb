-- How long any statement may queue behind another session's lock. is_local true: for the
-- current transaction only (SET LOCAL semantics, safe through a transaction pooler); false
-- for a statement that cannot run inside a transaction (CREATE INDEX CONCURRENTLY).
SELECT set_config('lock_timeout', %(lock_timeout)s, %(is_local)s);
