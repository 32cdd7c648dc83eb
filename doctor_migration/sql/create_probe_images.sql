-- One doctors row's image, as if a run had updated it: what the rollback's own statements
-- write back, to learn what the target's triggers rewrite ({image} is ledger.image of d).
CREATE TEMP TABLE {images} ON COMMIT DROP AS
SELECT d.id AS doctor_id, d.legacy_user_id, 'update'::text AS action, {image} AS before,
       NULL::jsonb AS after
FROM public.doctors AS d
WHERE d.id = %(doctor_id)s;
