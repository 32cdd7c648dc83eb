-- Doctors created in Supabase (legacy_user_id IS NULL): how many, and a digest of every
-- column of every row, to prove a run left them exactly as they were.
SELECT count(*) AS native_doctors,
       md5(COALESCE(string_agg(to_jsonb(d)::text, E'\n' ORDER BY d.id), '')) AS digest
FROM public.doctors AS d
WHERE d.legacy_user_id IS NULL;
