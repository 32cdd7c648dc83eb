"""Steps 2.2 and 2.3 of the plan: one doctors row per clean doctor.

The constants are the plan's defaults. Date arithmetic is done in UTC (Supabase's time zone),
whatever TimeZone the legacy server runs in.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timezone

import numpy as np
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


def _years_since_many(joined: pd.Series, today: date) -> np.ndarray:
    """years_since for a whole column of UTC timestamps at once (same rules, no Python loop)."""
    midnight = pd.Timestamp(datetime.combine(today, time(0, tzinfo=timezone.utc)))
    year, month, day = (joined.dt.year.to_numpy(), joined.dt.month.to_numpy(),
                        joined.dt.day.to_numpy())
    after_midnight = (joined - joined.dt.floor("D")).to_numpy() > np.timedelta64(0)
    same_day = (month == midnight.month) & (day == midnight.day)
    # _full_years(joined, midnight): one less when joined's (month, day, time) comes later.
    later_in_year = (month > midnight.month) | ((month == midnight.month) & (day > midnight.day)) \
        | (same_day & after_midnight)
    past = midnight.year - year - later_in_year
    # -_full_years(midnight, joined): one less when midnight's (month, day, 00:00) comes later.
    earlier_in_year = (month < midnight.month) | ((month == midnight.month) & (day < midnight.day))
    future = -(year - midnight.year - earlier_in_year)
    return np.where((joined <= midnight).to_numpy(), past, future).astype(np.int64)


def _objects(values: list) -> np.ndarray:
    """A 1-d object array holding exactly the given Python objects (lists stay cells)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _constant(value: object, n: int) -> np.ndarray:
    """A 1-d object array of n references to the one object `value`."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def build_doctor_rows(clean: pd.DataFrame, migration_date: date) -> pd.DataFrame:
    """Step 2.2's mapping with step 2.3's metadata, one row per clean doctor (most patients first).

    `clean` is the clean doctors with their profile attached (selection.attach_profiles).
    Column-wise: every cell is the same Python object a row-by-row mapping would give (ints,
    UUIDs, dates, UTC datetimes, dicts; the defaults shared, as `{**DEFAULTS}` shares them).
    """
    ordered = clean.sort_values(["patient_count", "user_id"], ascending=[False, True])
    n = len(ordered)
    if n == 0:
        return pd.DataFrame([], columns=MAPPED_COLUMNS, dtype=object)
    uids = [int(u) for u in ordered["user_id"]]
    joined = pd.to_datetime(ordered["date_joined"], utc=True)
    joined_py = [t.astimezone(timezone.utc) for t in joined.dt.to_pydatetime()]
    iso = migration_date.isoformat()
    metadata = [
        {
            "migration_date": iso,
            "source_patient_count": int(count),
            "has_office_assignment": bool(office),
            "has_settings": bool(settings),
            "deduplication_method": method,
            "data_quality_score": "high",
        }
        for count, office, settings, method in zip(
            ordered["patient_count"], ordered["has_office_assignment"],
            ordered["has_settings"], ordered["deduplication_method"])
    ]
    columns = {name: _constant(value, n) for name, value in DEFAULTS.items()}
    columns.update({
        "legacy_user_id": _objects(uids),
        "profile_id": _objects(list(ordered["profile_id"])),
        "doctor_id": _objects(uids),
        "doctor_number": _objects([f"DOC-{uid}" for uid in uids]),
        "years_experience": _objects(_years_since_many(joined, migration_date).tolist()),
        "licensed_since": _objects([t.date() for t in joined_py]),
        "joined_practice_at": _objects(joined_py),
        "legacy_doctor_id": _objects(uids),
        "migration_metadata": _objects(metadata),
    })
    return pd.DataFrame({name: columns[name] for name in MAPPED_COLUMNS}, columns=MAPPED_COLUMNS,
                        dtype=object)


def _json_texts(values: list) -> list[str]:
    """json.dumps of every value; a column holding one shared object (a default) is
    serialized once."""
    if values and len(set(map(id, values))) == 1:
        return [json.dumps(values[0])] * len(values)
    return [json.dumps(value) for value in values]


def copy_rows(rows: pd.DataFrame):
    """The rows as lists for COPY, jsonb values serialized (column by column)."""
    columns = [_json_texts(rows[name].tolist()) if name in JSONB_COLUMNS
               else rows[name].tolist() for name in MAPPED_COLUMNS]
    for values in zip(*columns):
        yield list(values)
