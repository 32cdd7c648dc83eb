-- One doctors row's text image ({image} is ledger.image of d).
SELECT {image}
FROM public.doctors AS d
WHERE d.id = %(doctor_id)s;
