-- Step 1.1 of the migration plan (../shared/plan/doctor_migration_plan.md), verbatim.
-- This query is the specification of "clean doctor": do not edit it here without the plan.
-- Runs on the legacy source in a READ ONLY, REPEATABLE READ transaction, with no parameters.
-- Identifies our 399 high-quality doctors
WITH clean_doctors AS (
  SELECT DISTINCT ON (
    CASE 
      WHEN au.email IS NOT NULL AND au.email != '' 
      THEN TRIM(LOWER(au.email))
      ELSE CONCAT(TRIM(LOWER(COALESCE(au.first_name, ''))), '_', TRIM(LOWER(COALESCE(au.last_name, ''))))
    END
  ) 
  au.id as user_id,
  au.first_name,
  au.last_name,
  au.email,
  au.username,
  au.is_active,
  au.date_joined,
  au.last_login,
  COALESCE(patient_stats.patient_count, 0) as patient_count,
  CASE WHEN dod.user_id IS NOT NULL THEN true ELSE false END as has_office_assignment,
  CASE WHEN dus.user_id IS NOT NULL THEN true ELSE false END as has_settings
  FROM auth_user au
  LEFT JOIN dispatch_usersetting dus ON au.id = dus.user_id
  LEFT JOIN dispatch_office_doctors dod ON au.id = dod.user_id
  LEFT JOIN (
    SELECT doctor_id, COUNT(*) as patient_count
    FROM dispatch_patient
    WHERE archived = false OR archived IS NULL
    GROUP BY doctor_id
  ) patient_stats ON au.id = patient_stats.doctor_id
  WHERE (dus.user_id IS NOT NULL OR dod.user_id IS NOT NULL)
  AND au.is_active = true
  AND COALESCE(patient_stats.patient_count, 0) > 0
  AND NOT (
    LOWER(au.email) LIKE '%test%' OR
    LOWER(au.email) LIKE '%demo%' OR
    LOWER(au.first_name) LIKE '%test%' OR
    LOWER(au.last_name) LIKE '%test%' OR
    au.email LIKE '%brius.com' OR
    au.email LIKE '%mechanodontics.com'
  )
  ORDER BY 
    CASE 
      WHEN au.email IS NOT NULL AND au.email != '' 
      THEN TRIM(LOWER(au.email))
      ELSE CONCAT(TRIM(LOWER(COALESCE(au.first_name, ''))), '_', TRIM(LOWER(COALESCE(au.last_name, ''))))
    END,
    COALESCE(patient_stats.patient_count, 0) DESC,
    au.last_login DESC NULLS LAST,
    au.id ASC
)
SELECT * FROM clean_doctors;
