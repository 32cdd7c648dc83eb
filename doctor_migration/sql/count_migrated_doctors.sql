SELECT count(*) FROM public.doctors WHERE legacy_user_id IS NOT NULL;
