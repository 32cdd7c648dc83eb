-- Every row of public.doctors, migrated and native: the table's real row count.
SELECT count(*) FROM public.doctors;
