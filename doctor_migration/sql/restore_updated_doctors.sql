-- Rollback: every column the image holds back to its old value, same id ({images}, {columns}
-- and {values} as in restore_deleted_doctors.sql; identity and generated columns left out:
-- an UPDATE never changed them).
UPDATE public.doctors AS d
SET ({columns}) = ROW({values})
FROM {images} AS r
WHERE r.action = 'update' AND d.id = r.doctor_id;
