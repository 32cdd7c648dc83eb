"""Phase 1 and step 1.1 of the plan as small DataFrames, for the profile migration sensor (a
run stages them on the target instead: see stage.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg

from doctor_migration.migration import locks
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError
from doctor_migration.migration.stage import PROFILES_READ, SOURCE_READ
from doctor_migration.names import LOCK_TIMEOUT

if TYPE_CHECKING:
    import pandas as pd

PROFILE_COLUMNS = ["id", "legacy_user_id", "first_name", "last_name", "email"]


def _frame(cur: psycopg.Cursor) -> pd.DataFrame:
    import pandas as pd  # only the sensor needs it: not imported by every command

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


def fetch_doctor_profiles(target: psycopg.Connection,
                          lock_timeout: str = LOCK_TIMEOUT) -> pd.DataFrame:
    """Phase 1: every profile with profile_type 'doctor' and a legacy_user_id."""
    with locks.bounded_transaction(target, "target", PROFILES_READ, lock_timeout):
        return _run(target, "select_doctor_profiles", "target")


def fetch_clean_doctors(source: psycopg.Connection,
                        lock_timeout: str = LOCK_TIMEOUT) -> pd.DataFrame:
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
    import pandas as pd

    clean = _run(source, "select_clean_doctors", "source")
    for column in ("date_joined", "last_login"):
        clean[column] = pd.to_datetime(clean[column], utc=True)
    return clean


def profile_counts(clean: pd.DataFrame, profiles: pd.DataFrame) -> dict[int, int]:
    """How many doctor profiles each clean doctor without exactly one has (step 1.3)."""
    per_id = profiles["legacy_user_id"].value_counts()
    counts = {int(uid): int(per_id.get(uid, 0)) for uid in clean["user_id"]}
    return {uid: n for uid, n in counts.items() if n != 1}
