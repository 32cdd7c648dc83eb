-- Steps 3.1 to 3.4 of the plan, adapted to a target that also holds native doctors
-- (legacy_user_id IS NULL): counts are taken over migrated rows. Each step also names its
-- offenders by legacy id. {clean} is the clean doctors' legacy ids, composed with psycopg.sql:
-- in the load, the rows it merges (pg_temp.doctor_stage); on their own, the ledger's record of
-- the newest applied run (validation.clean_of_run). Missing ones are
-- select_missing_legacy_ids.sql's. Three passes over doctors: by legacy id, joined with
-- profiles, by profile.
WITH per_user AS (
    -- 3.1 and 3.4: the migrated rows of each legacy id
    SELECT d.legacy_user_id, count(*) AS rows
    FROM public.doctors AS d
    WHERE d.legacy_user_id IS NOT NULL
    GROUP BY d.legacy_user_id
),
with_profile AS (
    -- 3.2 profile relationship validation (all doctors) and 3.3 data quality: no test
    -- accounts among migrated doctors (names.TEST_ACCOUNT_PATTERNS)
    SELECT d.legacy_user_id,
           p.id IS NULL AS orphaned,
           d.legacy_user_id IS NOT NULL
               AND (LOWER(p.email) LIKE %(test)s
                 OR LOWER(p.email) LIKE %(demo)s
                 OR p.email LIKE %(internal_1)s
                 OR p.email LIKE %(internal_2)s) AS test_account
    FROM public.doctors AS d
    LEFT JOIN public.profiles AS p ON d.profile_id = p.id
),
shared AS (
    -- 3.2 one doctors row per profile: the profiles of migrated doctors that hold another row
    SELECT array_agg(d.legacy_user_id) FILTER (WHERE d.legacy_user_id IS NOT NULL) AS legacy_ids
    FROM public.doctors AS d
    GROUP BY d.profile_id
    HAVING count(*) > 1 AND count(d.legacy_user_id) > 0
)
SELECT
    -- 3.1 count validation, and the migrated legacy ids that are not clean doctors
    (SELECT COALESCE(sum(u.rows), 0) FROM per_user AS u)::bigint AS migrated_doctors,
    ARRAY(SELECT u.legacy_user_id
          FROM per_user AS u
          WHERE NOT EXISTS (SELECT 1 FROM {clean} AS s
                            WHERE s.legacy_user_id = u.legacy_user_id)
          ORDER BY 1) AS unexpected_legacy_ids,
    (SELECT count(*) FILTER (WHERE w.orphaned) FROM with_profile AS w) AS orphaned_doctors,
    ARRAY(SELECT w.legacy_user_id FROM with_profile AS w
          WHERE w.orphaned AND w.legacy_user_id IS NOT NULL ORDER BY 1) AS orphaned_legacy_ids,
    (SELECT count(*) FROM shared) AS shared_profiles,
    ARRAY(SELECT DISTINCT u.id
          FROM shared AS s, unnest(s.legacy_ids) AS u(id)
          ORDER BY 1) AS shared_profile_legacy_ids,
    ARRAY(SELECT w.legacy_user_id FROM with_profile AS w
          WHERE w.test_account ORDER BY 1) AS test_account_legacy_ids,
    -- 3.4 legacy id mapping: present and unique
    (SELECT count(*) FROM per_user) AS unique_legacy_ids,
    ARRAY(SELECT u.legacy_user_id FROM per_user AS u
          WHERE u.rows > 1 ORDER BY 1) AS duplicated_legacy_ids,
    (SELECT count(*) FILTER (WHERE w.legacy_user_id IS NULL) FROM with_profile AS w)
        AS native_doctors;
