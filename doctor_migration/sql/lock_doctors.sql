-- Nobody else writes doctors while the load compares and merges (readers are not blocked).
LOCK TABLE public.doctors IN SHARE ROW EXCLUSIVE MODE;
