-- Rollback: the rows the run deleted come back with their old id and every old value their
-- image holds, each cast back from its text. OVERRIDING SYSTEM VALUE: an identity column
-- GENERATED ALWAYS gets its old value too. {images}, {columns} and {values} (r.before ->> name
-- cast to the column's type) are composed with psycopg.sql.
INSERT INTO public.doctors ({columns}) OVERRIDING SYSTEM VALUE
SELECT {values}
FROM {images} AS r
WHERE r.action = 'delete';
