-- Statistics for a stage table just filled ({table} composed with psycopg.sql), of the columns
-- the next statements' plans need ({columns}, stage.PLANNED_COLUMNS): autovacuum has not seen
-- the new stage yet, and without them the planner takes 100,000 rows for a handful and joins
-- them in nested loops. Only the owner may: another role gets a warning, not an error.
ANALYZE {table} ({columns})
