-- Every auth_user with exactly one outcome of step 1.1: migrated, or the first rule that
-- excludes it, in the plan's order. The rules are step 1.1's, restated per user so each
-- exclusion has a reason; the test-account LIKE patterns and the outcomes are bound
-- (names.OUTCOME_PARAMETERS).
-- The migrated set must equal select_clean_doctors.sql's result exactly: the clean_doctors
-- asset checks that on every run, and the tests on generated worlds.
-- %(user_id)s limits the answer to one user (NULL: everyone).
-- One pass over dispatch_patient counts each user's active and archived patients.
WITH patient_stats AS (
    SELECT doctor_id,
           COUNT(*) FILTER (WHERE archived = false OR archived IS NULL) AS patient_count,
           COUNT(*) FILTER (WHERE archived = true) AS archived_patient_count
    FROM dispatch_patient
    GROUP BY doctor_id
),
users AS (
    SELECT au.id AS user_id,
           au.is_active = true AS is_active,
           EXISTS (SELECT 1 FROM dispatch_usersetting AS dus WHERE dus.user_id = au.id)
               AS has_settings,
           EXISTS (SELECT 1 FROM dispatch_office_doctors AS dod WHERE dod.user_id = au.id)
               AS has_office_assignment,
           COALESCE(ps.patient_count, 0) AS patient_count,
           COALESCE(ps.archived_patient_count, 0) AS archived_patient_count,
           COALESCE(NOT (
               LOWER(au.email) LIKE %(test)s OR
               LOWER(au.email) LIKE %(demo)s OR
               LOWER(au.first_name) LIKE %(test)s OR
               LOWER(au.last_name) LIKE %(test)s OR
               au.email LIKE %(internal_1)s OR
               au.email LIKE %(internal_2)s
           ), false) AS not_test_account,
           CASE WHEN au.email IS NOT NULL AND au.email != '' THEN 'e-mail' ELSE 'name' END
               AS dedup_by,
           CASE
             WHEN au.email IS NOT NULL AND au.email != ''
             THEN TRIM(LOWER(au.email))
             ELSE CONCAT(TRIM(LOWER(COALESCE(au.first_name, ''))), '_',
                         TRIM(LOWER(COALESCE(au.last_name, ''))))
           END AS dedup_key,
           au.last_login
    FROM auth_user AS au
    LEFT JOIN patient_stats AS ps ON ps.doctor_id = au.id
    WHERE %(user_id)s::integer IS NULL
       OR au.id = %(user_id)s::integer
       OR CASE WHEN au.email IS NOT NULL AND au.email != '' THEN TRIM(LOWER(au.email))
               ELSE CONCAT(TRIM(LOWER(COALESCE(au.first_name, ''))), '_',
                           TRIM(LOWER(COALESCE(au.last_name, '')))) END
          = (SELECT CASE WHEN o.email IS NOT NULL AND o.email != '' THEN TRIM(LOWER(o.email))
                         ELSE CONCAT(TRIM(LOWER(COALESCE(o.first_name, ''))), '_',
                                     TRIM(LOWER(COALESCE(o.last_name, '')))) END
               FROM auth_user AS o WHERE o.id = %(user_id)s::integer)
),
eligible AS (
    SELECT u.user_id,
           ROW_NUMBER() OVER w AS rank,
           FIRST_VALUE(u.user_id) OVER w AS kept_user_id
    FROM users AS u
    WHERE u.is_active
      AND (u.has_settings OR u.has_office_assignment)
      AND u.patient_count > 0
      AND u.not_test_account
    WINDOW w AS (PARTITION BY u.dedup_key
                 ORDER BY u.patient_count DESC, u.last_login DESC NULLS LAST, u.user_id ASC)
)
SELECT u.user_id,
       CASE
         WHEN NOT u.is_active THEN %(inactive)s
         WHEN NOT (u.has_settings OR u.has_office_assignment) THEN %(no_settings_or_office)s
         WHEN u.patient_count = 0 THEN %(no_active_patients)s
         WHEN NOT u.not_test_account THEN %(test_account)s
         WHEN e.rank > 1 AND u.dedup_by = 'e-mail' THEN %(duplicate_by_email)s
         WHEN e.rank > 1 THEN %(duplicate_by_name)s
         ELSE %(migrated)s
       END AS outcome,
       CASE WHEN e.rank > 1 THEN e.kept_user_id END AS duplicate_of,
       u.dedup_by,
       u.is_active,
       u.has_settings,
       u.has_office_assignment,
       u.patient_count,
       u.archived_patient_count,
       u.last_login
FROM users AS u
LEFT JOIN eligible AS e ON e.user_id = u.user_id
WHERE %(user_id)s::integer IS NULL OR u.user_id = %(user_id)s::integer;
