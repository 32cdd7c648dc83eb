-- A query of the source streamed out as COPY text (the query composed in with psycopg.sql).
COPY ({query}) TO STDOUT
