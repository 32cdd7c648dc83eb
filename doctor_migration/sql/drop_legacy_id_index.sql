-- Drop the INVALID index a cancelled CREATE INDEX CONCURRENTLY left: it is never used, yet
-- every write maintains it, and IF NOT EXISTS would skip creating a valid one.
DROP INDEX CONCURRENTLY IF EXISTS public.doctors_legacy_user_id_idx;
