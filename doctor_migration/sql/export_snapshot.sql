-- The source read's snapshot, for the accounting's connection to read the same state.
SELECT pg_export_snapshot();
