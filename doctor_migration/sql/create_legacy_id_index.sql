-- Only with --create-indexes: the index that makes step 4.2's lookup an index scan.
-- CONCURRENTLY: writers are not blocked; must run outside a transaction.
CREATE INDEX CONCURRENTLY IF NOT EXISTS doctors_legacy_user_id_idx
    ON public.doctors (legacy_user_id);
