-- The source's read transaction sees timestamps in UTC whatever the legacy server's or role's
-- TimeZone (a year-1 date in America/New_York is "BC" to Python). Transaction-local
-- (is_local = true): no write, and safe through a pooler.
SELECT set_config('TimeZone', 'UTC', true);
