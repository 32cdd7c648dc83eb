"""The systems upstream of the migration, declared as external assets so the lineage starts
where the data does: the legacy Django tables step 1.1 reads, and Supabase's profiles that
the profile migration (phase 1) fills. Dagster never materializes them; the sensor observes
`profiles`."""

import dagster as dg

LEGACY_GROUP = "legacy_source"
SUPABASE_GROUP = "supabase"


def _legacy_table(name: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(name, group_name=LEGACY_GROUP, kinds={"postgres"},
                        description=description,
                        metadata={"dagster/table_name": f"public.{name}"})


auth_user = _legacy_table(
    "auth_user", "Django's users in the legacy database: who may be a doctor (step 1.1).")
dispatch_usersetting = _legacy_table(
    "dispatch_usersetting", "Per-user settings in the legacy database: a clean doctor has "
                            "settings or an office assignment (step 1.1).")
dispatch_office_doctors = _legacy_table(
    "dispatch_office_doctors", "Office assignments in the legacy database (step 1.1).")
dispatch_patient = _legacy_table(
    "dispatch_patient", "Patients in the legacy database: a clean doctor has an active one "
                        "(step 1.1).")

profiles = dg.AssetSpec(
    "profiles", group_name=SUPABASE_GROUP, kinds={"postgres"},
    description="Supabase's public.profiles, written by the profile migration (phase 1); "
                "the doctor profiles are matched to clean doctors by legacy_user_id. "
                "profile_migration_sensor observes them at every evaluation.",
    metadata={"dagster/table_name": "public.profiles"},
)

LEGACY_TABLES = [auth_user, dispatch_usersetting, dispatch_office_doctors, dispatch_patient]
