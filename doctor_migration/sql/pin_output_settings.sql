-- Every transaction of the tool, on both databases, first pins the settings that change how
-- values are written as text (psycopg parses ISO dates only; the ledger's images are text):
-- SET LOCAL semantics (is_local = true), so they end with the transaction and work through a
-- transaction pooler. TimeZone is pinned on the target only (target.begin): on the source,
-- the plan's SQL reads the legacy server's own.
SELECT set_config('DateStyle', 'ISO', true),
       set_config('IntervalStyle', 'postgres', true),
       set_config('extra_float_digits', '3', true),
       set_config('bytea_output', 'hex', true);
