-- Supabase's API roles, where they exist: the stage must grant them nothing.
SELECT rolname FROM pg_roles WHERE rolname = ANY(%(roles)s::text[]) ORDER BY rolname;
