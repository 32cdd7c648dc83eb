"""Phase 1 and step 1.1 of the plan: the doctor profiles in the target, the clean doctors in
the source, and the two joined in Python (they live on separate servers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import psycopg

from doctor_migration.migration import locks
from doctor_migration.migration.accounting import fetch_user_outcomes
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError
from doctor_migration.migration.preflight import SOURCE_COLUMNS

PROFILE_COLUMNS = ["id", "legacy_user_id", "first_name", "last_name", "email"]
# What the reads wait for: a reader is kept out only by an ACCESS EXCLUSIVE lock.
PROFILES_READ = {"public.profiles": "AccessShareLock"}
SOURCE_READ = dict.fromkeys(SOURCE_COLUMNS, "AccessShareLock")


def _frame(cur: psycopg.Cursor) -> pd.DataFrame:
    columns = [d.name for d in cur.description]
    return pd.DataFrame(cur.fetchall(), columns=columns, dtype=object)


def _run(conn: psycopg.Connection, name: str, role: str) -> pd.DataFrame:
    problems = {
        psycopg.errors.UndefinedTable: "lacks a table the plan needs",
        psycopg.errors.UndefinedColumn: "lacks a column the plan needs",
        psycopg.errors.InsufficientPrivilege: "role may not read what the plan needs",
    }
    try:
        return _frame(conn.execute(load_sql(name)))
    except tuple(problems) as exc:
        problem = problems[type(exc)]
        raise MigrationError(
            f"the {role} database {problem}: {exc.diag.message_primary}") from None


def fetch_doctor_profiles(target: psycopg.Connection, lock_timeout: str = "30s") -> pd.DataFrame:
    """Phase 1: every profile with profile_type 'doctor' and a legacy_user_id."""
    with locks.bounded_transaction(target, "target", PROFILES_READ, lock_timeout):
        return _run(target, "select_doctor_profiles", "target")


def fetch_clean_doctors(source: psycopg.Connection, lock_timeout: str = "30s") -> pd.DataFrame:
    """Step 1.1: the plan's query, as written, in one READ ONLY, REPEATABLE READ transaction.

    Only a SELECT: no temp table, no write; a role with SELECT on the four tables suffices.
    date_joined and last_login come back as UTC timestamps, whatever the source's TimeZone.
    """
    with _snapshot(source, lock_timeout):
        return _clean_doctors(source)


@contextmanager
def _snapshot(source: psycopg.Connection, lock_timeout: str) -> Iterator[None]:
    source.read_only = True
    source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    with locks.bounded_transaction(source, "source", SOURCE_READ, lock_timeout):
        source.execute(load_sql("set_source_time_zone"))
        yield


def _clean_doctors(source: psycopg.Connection) -> pd.DataFrame:
    clean = _run(source, "select_clean_doctors", "source")
    for column in ("date_joined", "last_login"):
        clean[column] = pd.to_datetime(clean[column], utc=True)
    clean["deduplication_method"] = [deduplication_method(e) for e in clean["email"]]
    return clean


def deduplication_method(email: str | None) -> str:
    """Which key of step 1.1's DISTINCT ON chose this doctor: the e-mail, or first_last."""
    return "email_priority" if email else "name_fallback"


def read_source(source: psycopg.Connection,
                lock_timeout: str = "30s") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step 1.1's clean doctors and every user's outcome, from one snapshot of the source."""
    with _snapshot(source, lock_timeout):
        clean = _clean_doctors(source)
        try:
            outcomes = fetch_user_outcomes(source)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise MigrationError(f"the source database role may not read what the plan needs: "
                                 f"{exc.diag.message_primary}") from None
    return clean, outcomes


def attach_profiles(clean: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """The clean doctors with their doctor profile: how many they have, the first one's fields."""
    counts = profiles.groupby("legacy_user_id").size().rename("profile_count")
    first = profiles.drop_duplicates("legacy_user_id").set_index("legacy_user_id")
    first = first.rename(columns={
        "id": "profile_id",
        "first_name": "profile_first_name",
        "last_name": "profile_last_name",
        "email": "profile_email",
    })
    joined = clean.join(counts, on="user_id").join(first, on="user_id")
    joined["profile_count"] = joined["profile_count"].fillna(0).astype(int)
    for column in ("profile_id", "profile_first_name", "profile_last_name", "profile_email"):
        joined[column] = joined[column].astype(object).where(joined[column].notna(), None)
    return joined
