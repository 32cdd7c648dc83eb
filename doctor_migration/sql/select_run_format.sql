-- How the run to roll back was recorded, read through to_jsonb so that a column a ledger made
-- by an older version lacks reads as null: its ledger_format (1 where the ledger has none),
-- the columns the digests of its inserted rows cover (null where it kept after-images), and
-- the stage whose doctor_rows it merged.
SELECT COALESCE((j ->> 'ledger_format')::integer, 1) AS ledger_format,
       j -> 'digest_columns' AS digest_columns,
       j ->> 'stage_id' AS stage_id
FROM doctor_migration.runs AS r
CROSS JOIN LATERAL to_jsonb(r) AS j
WHERE r.run_id = %(run_id)s;
