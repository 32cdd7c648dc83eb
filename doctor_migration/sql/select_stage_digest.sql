-- A seal (migration/seal.py): how many rows of one stage a stage table ({table} composed with
-- psycopg.sql) holds, and which transactions wrote them. Every INSERT and UPDATE writes a new
-- row version stamped with its transaction's id (xmin), so any write to the rows since the seal
-- changes the count or the writers, even one that sets the values they had. xmin has 32 bits:
-- each is widened to the 64-bit id (xid8) nearest the newest one this statement's snapshot
-- knows, as PostgreSQL orders ids (within 2^31 of it), so that an id reused after wraparound
-- never passes for the one sealed. The digest is an md5 of the writers in order, each with how
-- many of the rows it wrote.
SELECT coalesce(sum(w.versions), 0)::bigint,
       md5(coalesce(string_agg(w.writer || ':' || w.versions, ',' ORDER BY w.writer), ''))
FROM (SELECT h.newest - 2147483648
             + mod(t.xmin::text::bigint - mod(h.newest, 4294967296) + 6442450944, 4294967296)
                 AS writer,
             count(*) AS versions
      FROM {table} AS t,
           (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS newest) AS h
      WHERE t.run_id = %(run_id)s
      GROUP BY 1) AS w;
