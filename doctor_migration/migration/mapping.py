"""Steps 2.2 and 2.3 of the plan: one doctors row per clean doctor.

The mapping is SQL on the target, the plan's own expressions and defaults
(sql/insert_doctor_rows.sql, into the stage's doctor_rows): EXTRACT(YEAR FROM AGE(date_joined))
and date_joined::date in UTC (Supabase's time zone), whatever TimeZone the legacy server runs in.
"""

from __future__ import annotations

from psycopg import sql

# The columns the mapping sets, in the order of sql/create_doctor_stage.sql.
MAPPED_COLUMNS = [
    "legacy_user_id", "profile_id", "doctor_id", "doctor_number", "license_number", "npi_number",
    "specialty", "board_certifications", "education", "years_experience", "primary_office_id",
    "practice_type", "status", "is_accepting_patients", "max_patient_load", "bio", "specialties",
    "languages_spoken", "professional_memberships", "consultation_duration_minutes",
    "follow_up_duration_minutes", "working_hours", "consultation_fee", "accepts_insurance",
    "payment_terms", "licensed_since", "joined_practice_at", "legacy_doctor_id",
    "migration_metadata",
]

# How step 2.2 derives each column, for the doctor_rows table's column descriptions.
RULES = {
    "legacy_user_id": "auth_user.id of the clean doctor (step 1.1's user_id)",
    "profile_id": "id of the doctor's one doctor profile (profiles.legacy_user_id = user_id)",
    "doctor_id": "auth_user.id",
    "doctor_number": "'DOC-' || auth_user.id",
    "license_number": "NULL (not in the source)",
    "npi_number": "NULL (not in the source)",
    "specialty": "'General Practice' (default)",
    "board_certifications": "'{}' (empty JSON)",
    "education": "'{}' (empty JSON)",
    "years_experience": "EXTRACT(YEAR FROM AGE(date_joined)), in UTC",
    "primary_office_id": "NULL (requires the office migration)",
    "practice_type": "'Private Practice' (default)",
    "status": "'active'",
    "is_accepting_patients": "true",
    "max_patient_load": "NULL",
    "bio": "'Migrated doctor profile' (default)",
    "specialties": "'[\"General Practice\"]'",
    "languages_spoken": "'[\"English\"]' (default)",
    "professional_memberships": "'{}' (empty JSON)",
    "consultation_duration_minutes": "30 (default)",
    "follow_up_duration_minutes": "15 (default)",
    "working_hours": "'{}' (empty JSON)",
    "consultation_fee": "NULL",
    "accepts_insurance": "true (default)",
    "payment_terms": "'{}' (empty JSON)",
    "licensed_since": "date_joined::date in UTC (approximation)",
    "joined_practice_at": "date_joined",
    "legacy_doctor_id": "auth_user.id",
    "migration_metadata": "step 2.3: migration_date, source_patient_count, "
                          "has_office_assignment, has_settings, deduplication_method "
                          "(email_priority, or name_fallback for an empty e-mail), "
                          "data_quality_score 'high'",
}

# The json-like columns: compared as jsonb (a target may declare them json, which keeps the
# text it was given, and has no = operator).
JSON_COLUMNS = ["board_certifications", "education", "specialties", "languages_spoken",
                "professional_memberships", "working_hours", "payment_terms",
                "migration_metadata"]


def digest(alias: str) -> sql.Composable:
    """A 64-bit hash of row `alias`'s mapped columns (the json-like ones as jsonb, and
    migration_metadata without migration_date, the day of the run that last wrote the row):
    hash_record_extended hashes each value by its type's own hash, which agrees with its
    equality, so two rows hash alike when the reconciliation finds no column differing (and
    differ otherwise but for a 1 in 2^64 chance). It reads no text output, several times
    cheaper than an md5 of the row's text. The ledger's run_digests holds it for every clean
    doctor of a run."""
    def value(name: str) -> sql.Composable:
        column = sql.Identifier(alias, name)
        if name == "migration_metadata":
            return sql.SQL("({}::jsonb - 'migration_date')").format(column)
        return sql.SQL("{}::jsonb").format(column) if name in JSON_COLUMNS else column
    return sql.SQL("hash_record_extended(ROW({}), 0)").format(
        sql.SQL(", ").join(value(name) for name in MAPPED_COLUMNS))
