-- The rows of the given stages in one stage table ({table} composed with psycopg.sql).
DELETE FROM {table} WHERE run_id = ANY(%(run_ids)s::text[]);
