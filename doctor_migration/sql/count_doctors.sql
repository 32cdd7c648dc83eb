SELECT count(*) FROM public.doctors;
