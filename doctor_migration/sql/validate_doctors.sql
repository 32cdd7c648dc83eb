-- Steps 3.1 to 3.4 of the plan, adapted to a target that also holds native doctors
-- (legacy_user_id IS NULL): counts are taken over migrated rows.
SELECT
    -- 3.1 count validation
    (SELECT count(*) FROM public.doctors WHERE legacy_user_id IS NOT NULL) AS migrated_doctors,
    -- 3.2 profile relationship validation (all doctors)
    (SELECT count(*)
       FROM public.doctors AS d
       LEFT JOIN public.profiles AS p ON d.profile_id = p.id
      WHERE p.id IS NULL) AS orphaned_doctors,
    -- 3.3 data quality: no test accounts among migrated doctors
    (SELECT count(*)
       FROM public.doctors AS d
       JOIN public.profiles AS p ON d.profile_id = p.id
      WHERE d.legacy_user_id IS NOT NULL
        AND (LOWER(p.email) LIKE '%test%'
          OR LOWER(p.email) LIKE '%demo%'
          OR p.email LIKE '%brius.com'
          OR p.email LIKE '%mechanodontics.com')) AS test_accounts,
    -- 3.4 legacy id mapping: present and unique
    (SELECT count(DISTINCT legacy_user_id) FROM public.doctors) AS unique_legacy_ids,
    (SELECT count(*) FROM public.doctors WHERE legacy_user_id IS NULL) AS native_doctors;
