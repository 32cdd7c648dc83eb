"""After the load: every migrated row, read back from the target, against what the mapping
says it must be, column by column; and the native doctors against their state before."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import psycopg

from doctor_migration.migration.db import load_sql
from doctor_migration.migration.mapping import MAPPED_COLUMNS


@dataclass(frozen=True)
class Reconciliation:
    """Differences between the target and the mapping, by legacy user id."""

    compared: int
    mismatches: dict[int, list[str]] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    unexpected: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.mismatches or self.missing or self.unexpected)

    @property
    def summary(self) -> str:
        return (f"{self.compared} migrated rows compared with the mapping: "
                f"{len(self.mismatches)} differ, {len(self.missing)} missing, "
                f"{len(self.unexpected)} not clean")


def fetch_migrated_rows(conn: psycopg.Connection) -> pd.DataFrame:
    """The mapped columns of every migrated row, straight from the target."""
    cur = conn.execute(load_sql("select_migrated_doctors"))
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description], dtype=object)


def _same(column: str, actual: object, expected: object) -> bool:
    if column == "migration_metadata" and isinstance(actual, dict) and isinstance(expected, dict):
        # The date of the run that last wrote the row, not a property of the doctor.
        actual = {k: v for k, v in actual.items() if k != "migration_date"}
        expected = {k: v for k, v in expected.items() if k != "migration_date"}
    return actual == expected


def reconcile(actual: pd.DataFrame, expected: pd.DataFrame) -> Reconciliation:
    """Column-by-column comparison of the target's rows with the mapping's rows."""
    have = {int(r["legacy_user_id"]): r for r in actual.to_dict("records")}
    want = {int(r["legacy_user_id"]): r for r in expected.to_dict("records")}
    mismatches = {}
    for uid in sorted(have.keys() & want.keys()):
        differing = [c for c in MAPPED_COLUMNS if not _same(c, have[uid][c], want[uid][c])]
        if differing:
            mismatches[uid] = differing
    return Reconciliation(
        compared=len(have),
        mismatches=mismatches,
        missing=sorted(want.keys() - have.keys()),
        unexpected=sorted(have.keys() - want.keys()),
    )


def native_fingerprint(conn: psycopg.Connection) -> tuple[int, str]:
    """(count, digest) of the doctors created in Supabase."""
    count, digest = conn.execute(load_sql("select_native_doctors_fingerprint")).fetchone()
    return int(count), digest
