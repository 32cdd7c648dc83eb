"""After the load: every migrated row, read back from the target, against what the mapping
says it must be, column by column (in SQL, on the target, in a transaction that is rolled
back)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import psycopg

from doctor_migration.migration.db import load_sql
from doctor_migration.migration.stage import stage_rows


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


def reconcile(conn: psycopg.Connection, expected: pd.DataFrame) -> Reconciliation:
    """Column-by-column comparison of the target's migrated rows with `expected` (the
    mapping's rows). Writes nothing: the staged copy lives in a rolled-back transaction."""
    with conn.transaction(force_rollback=True):
        stage_rows(conn, expected)
        return compare_staged(conn)


def compare_staged(conn: psycopg.Connection) -> Reconciliation:
    """The comparison, against rows already staged in this transaction (a dry run uses it
    on the state it is about to roll back)."""
    mismatches, missing, unexpected = {}, [], []
    compared = conn.execute(load_sql("count_migrated_doctors")).fetchone()[0]
    for uid, not_clean, absent, columns in conn.execute(load_sql("select_mapping_mismatches")):
        if not_clean:
            unexpected.append(int(uid))
        elif absent:
            missing.append(int(uid))
        else:
            mismatches[int(uid)] = list(columns)
    return Reconciliation(compared, mismatches, missing, unexpected)
