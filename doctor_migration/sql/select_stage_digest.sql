-- A seal (migration/seal.py): how many rows of one stage a stage table ({table} composed with
-- psycopg.sql: the table, or the load's private copy) holds, and an md5 over the sorted md5s of
-- their text, so the digest does not depend on the rows' order.
SELECT count(*),
       md5(coalesce(string_agg(h.row_md5, '' ORDER BY h.row_md5), ''))
FROM (SELECT md5(t::text) AS row_md5 FROM {table} AS t WHERE t.run_id = %(run_id)s) AS h;
