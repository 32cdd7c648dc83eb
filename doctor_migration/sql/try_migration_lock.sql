-- One migration or rollback at a time; released by COMMIT, ROLLBACK or a dropped connection.
SELECT pg_try_advisory_xact_lock(%(key)s::bigint) AS locked;
