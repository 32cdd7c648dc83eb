-- How many rows one stage table holds for this command ({table} composed with psycopg.sql).
SELECT count(*) FROM {table} WHERE run_id = %(run_id)s;
