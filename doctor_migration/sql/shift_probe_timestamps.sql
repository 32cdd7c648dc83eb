-- The trigger probe's image with its timestamps one microsecond earlier ({names} and
-- {values}: each timestamp column of doctors and its shifted text, composed with
-- psycopg.sql), so that a trigger stamping the transaction's time shows on a row written in
-- the same transaction. Every timestamp moves alike: a CHECK comparing two of them still holds.
UPDATE probe_images
SET before = before || jsonb_object(ARRAY[{names}]::text[], ARRAY[{values}]::text[]);
