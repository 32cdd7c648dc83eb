-- How old a source snapshot is (seconds), and whether it is older than the maximum age.
SELECT extract(epoch FROM clock_timestamp() - %(taken_at)s::timestamptz)::float8,
       clock_timestamp() - %(taken_at)s::timestamptz > %(max_age)s::interval;
