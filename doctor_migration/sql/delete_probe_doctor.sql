DELETE FROM public.doctors AS d
WHERE d.id = %(doctor_id)s;
