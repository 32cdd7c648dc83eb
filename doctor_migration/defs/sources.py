"""The systems upstream of the migration, declared as external assets so the lineage starts
where the data does: the legacy Django tables step 1.1 reads, and Supabase's profiles that
the profile migration (phase 1) fills. Dagster never materializes them; the sensor observes
`profiles`, and every run's clean_doctors step records the legacy tables' row counts."""

import dagster as dg

from doctor_migration.defs import catalog
from doctor_migration.migration.preflight import PROFILE_COLUMNS, SOURCE_COLUMNS

LEGACY_GROUP = "legacy_source"
SUPABASE_GROUP = "supabase"

# The type (as Django declares it) and step 1.1's use of each column it reads; which columns
# of which table: preflight.SOURCE_COLUMNS. A legacy table may have more.
SOURCE_COLUMN_TYPES = {
    "id": ("integer", "the user's id: legacy_user_id in the target"),
    "first_name": ("varchar(150)", "personal data; NOT NULL, may be ''"),
    "last_name": ("varchar(150)", "personal data; NOT NULL, may be ''"),
    "email": ("varchar(254)", "personal data; NOT NULL, may be ''"),
    "username": ("varchar(150)", "personal data"),
    "is_active": ("boolean", "a clean doctor is active"),
    "date_joined": ("timestamptz", "years_experience, licensed_since, joined_practice_at"),
    "last_login": ("timestamptz", "among duplicates, the latest login is kept"),
    "user_id": ("integer", "auth_user.id"),
    "doctor_id": ("integer", "auth_user.id of the patient's doctor"),
    "archived": ("boolean", "NULL or false: an active patient"),
}
# Phase 1's profiles as the migration reads them (the columns: preflight.PROFILE_COLUMNS).
PROFILE_COLUMN_TYPES = {
    "id": ("uuid", "doctors.profile_id of the migrated doctor"),
    "legacy_user_id": ("integer", "the source's auth_user.id"),
    "first_name": ("text", "personal data; compared with the source (step 1.3)"),
    "last_name": ("text", "personal data; compared with the source (step 1.3)"),
    "email": ("text", "personal data; compared with the source (step 1.3)"),
    "profile_type": ("public.profile_type", "'doctor' for a doctor profile"),
}


def _legacy_table(name: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        name, group_name=LEGACY_GROUP, kinds={"postgres"}, description=description,
        owners=catalog.LEGACY_OWNERS, tags=catalog.TAGS,
        metadata=catalog.table(f"public.{name}", [
            (column, *SOURCE_COLUMN_TYPES[column]) for column in SOURCE_COLUMNS[name]]))


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
    owners=catalog.OWNERS, tags=catalog.TAGS,
    metadata=catalog.table("public.profiles", [
        (column, *PROFILE_COLUMN_TYPES[column]) for column in PROFILE_COLUMNS]),
)

LEGACY_TABLES = [auth_user, dispatch_usersetting, dispatch_office_doctors, dispatch_patient]
