-- One command at a time creates the stage's tables and replaces stages (until COMMIT).
SELECT pg_advisory_xact_lock(%(key)s);
