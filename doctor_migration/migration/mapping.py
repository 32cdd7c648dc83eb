"""Steps 2.2 and 2.3 of the plan: one doctors row per clean doctor.

The constants are the plan's defaults. Date arithmetic is done in UTC (Supabase's time zone),
whatever TimeZone the legacy server runs in.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timezone

import pandas as pd

# The columns the mapping sets, in the order of sql/copy_doctor_stage.sql.
MAPPED_COLUMNS = [
    "legacy_user_id", "profile_id", "doctor_id", "doctor_number", "license_number", "npi_number",
    "specialty", "board_certifications", "education", "years_experience", "primary_office_id",
    "practice_type", "status", "is_accepting_patients", "max_patient_load", "bio", "specialties",
    "languages_spoken", "professional_memberships", "consultation_duration_minutes",
    "follow_up_duration_minutes", "working_hours", "consultation_fee", "accepts_insurance",
    "payment_terms", "licensed_since", "joined_practice_at", "legacy_doctor_id",
    "migration_metadata",
]
JSONB_COLUMNS = {
    "board_certifications", "education", "specialties", "languages_spoken",
    "professional_memberships", "working_hours", "payment_terms", "migration_metadata",
}

# Step 2.2's defaults for what the source does not have.
DEFAULTS: dict[str, object] = {
    "license_number": None,
    "npi_number": None,
    "specialty": "General Practice",
    "board_certifications": {},
    "education": {},
    "primary_office_id": None,
    "practice_type": "Private Practice",
    "status": "active",
    "is_accepting_patients": True,
    "max_patient_load": None,
    "bio": "Migrated doctor profile",
    "specialties": ["General Practice"],
    "languages_spoken": ["English"],
    "professional_memberships": {},
    "consultation_duration_minutes": 30,
    "follow_up_duration_minutes": 15,
    "working_hours": {},
    "consultation_fee": None,
    "accepts_insurance": True,
    "payment_terms": {},
}


def _full_years(earlier: datetime, later: datetime) -> int:
    years = later.year - earlier.year
    if (earlier.month, earlier.day, earlier.timetz()) > (later.month, later.day, later.timetz()):
        years -= 1
    return years


def years_since(joined: datetime, today: date) -> int:
    """EXTRACT(YEAR FROM AGE(joined)) as PostgreSQL computes it in UTC.

    AGE(x) measures from today's midnight; the year field counts whole years and
    age(a, b) = -age(b, a), so a date in the future gives zero or a negative number.
    """
    joined = joined.astimezone(timezone.utc)
    midnight = datetime.combine(today, time(0, tzinfo=timezone.utc))
    if joined <= midnight:
        return _full_years(joined, midnight)
    return -_full_years(midnight, joined)


def build_doctor_rows(clean: pd.DataFrame, migration_date: date) -> pd.DataFrame:
    """Step 2.2's mapping with step 2.3's metadata, one row per clean doctor (most patients first).

    `clean` is the clean doctors with their profile attached (selection.attach_profiles).
    """
    ordered = clean.sort_values(["patient_count", "user_id"], ascending=[False, True])
    rows = []
    for d in ordered.itertuples(index=False):
        uid = int(d.user_id)
        joined = d.date_joined.to_pydatetime().astimezone(timezone.utc)
        rows.append({
            **DEFAULTS,
            "legacy_user_id": uid,
            "profile_id": d.profile_id,
            "doctor_id": uid,
            "doctor_number": f"DOC-{uid}",
            "years_experience": years_since(joined, migration_date),
            "licensed_since": joined.date(),
            "joined_practice_at": joined,
            "legacy_doctor_id": uid,
            "migration_metadata": {
                "migration_date": migration_date.isoformat(),
                "source_patient_count": int(d.patient_count),
                "has_office_assignment": bool(d.has_office_assignment),
                "has_settings": bool(d.has_settings),
                "deduplication_method": d.deduplication_method,
                "data_quality_score": "high",
            },
        })
    return pd.DataFrame(rows, columns=MAPPED_COLUMNS, dtype=object)


def copy_rows(rows: pd.DataFrame):
    """The rows as tuples for COPY, jsonb values serialized."""
    jsonb = [i for i, c in enumerate(MAPPED_COLUMNS) if c in JSONB_COLUMNS]
    for values in rows[MAPPED_COLUMNS].itertuples(index=False, name=None):
        values = list(values)
        for i in jsonb:
            values[i] = json.dumps(values[i])
        yield values
