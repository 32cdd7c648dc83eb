-- What the load does to each doctors row: insert, update (and which mapped columns change),
-- leave unchanged, or delete (a migrated row whose user is no longer clean).
-- Native doctors (legacy_user_id IS NULL) never appear here.
-- migration_metadata.migration_date is ignored when comparing, so a rerun on another day of
-- unchanged data writes nothing. Equal rows are recognised by one row comparison; only rows
-- that differ pay for the per-column (jsonb) list of what changed. The json-like columns are
-- compared as jsonb, which also serves a target that declared them json (no = operator).
CREATE TEMP TABLE pg_temp.doctor_changes ON COMMIT DROP AS
SELECT d.id AS doctor_id,
       s.legacy_user_id,
       CASE WHEN d.id IS NULL THEN 'insert'
            WHEN same.mapped THEN 'unchanged'
            ELSE 'update' END AS action,
       CASE WHEN d.id IS NULL OR same.mapped THEN NULL ELSE (
           SELECT array_agg(n.key ORDER BY n.key)
           FROM jsonb_each(to_jsonb(s)) AS n
           WHERE CASE WHEN n.key = 'migration_metadata'
                           AND jsonb_typeof(to_jsonb(d) -> n.key) = 'object'
                      THEN (n.value - 'migration_date')
                           IS DISTINCT FROM ((to_jsonb(d) -> n.key) - 'migration_date')
                      ELSE n.value IS DISTINCT FROM (to_jsonb(d) -> n.key) END
       ) END AS changed_columns
FROM pg_temp.doctor_stage AS s
LEFT JOIN public.doctors AS d ON d.legacy_user_id = s.legacy_user_id
CROSS JOIN LATERAL (
    SELECT (
        d.profile_id, d.doctor_id, d.doctor_number, d.license_number, d.npi_number,
        d.specialty, d.board_certifications::jsonb, d.education::jsonb, d.years_experience,
        d.primary_office_id, d.practice_type, d.status, d.is_accepting_patients,
        d.max_patient_load, d.bio, d.specialties::jsonb, d.languages_spoken::jsonb,
        d.professional_memberships::jsonb, d.consultation_duration_minutes,
        d.follow_up_duration_minutes, d.working_hours::jsonb, d.consultation_fee,
        d.accepts_insurance, d.payment_terms::jsonb, d.licensed_since, d.joined_practice_at,
        d.legacy_doctor_id
    ) IS NOT DISTINCT FROM (
        s.profile_id, s.doctor_id, s.doctor_number, s.license_number, s.npi_number,
        s.specialty, s.board_certifications::jsonb, s.education::jsonb, s.years_experience,
        s.primary_office_id, s.practice_type, s.status, s.is_accepting_patients,
        s.max_patient_load, s.bio, s.specialties::jsonb, s.languages_spoken::jsonb,
        s.professional_memberships::jsonb, s.consultation_duration_minutes,
        s.follow_up_duration_minutes, s.working_hours::jsonb, s.consultation_fee,
        s.accepts_insurance, s.payment_terms::jsonb, s.licensed_since, s.joined_practice_at,
        s.legacy_doctor_id
    ) AND (CASE WHEN jsonb_typeof(d.migration_metadata::jsonb) = 'object'
                THEN d.migration_metadata::jsonb - 'migration_date'
                ELSE d.migration_metadata::jsonb END)
          IS NOT DISTINCT FROM (s.migration_metadata::jsonb - 'migration_date') AS mapped
) AS same
UNION ALL
SELECT d.id, d.legacy_user_id, 'delete', NULL
FROM public.doctors AS d
WHERE d.legacy_user_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM pg_temp.doctor_stage AS s
                  WHERE s.legacy_user_id = d.legacy_user_id);
