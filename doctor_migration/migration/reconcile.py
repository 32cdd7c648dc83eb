"""After the load: every migrated row, as the target holds it, against what the mapping says it
must be (the command's doctor_rows), column by column, in SQL on the target, in a transaction
that is rolled back. Only the differing rows come back, and only the first SHOWN of each kind
are kept."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import psycopg

from doctor_migration.migration.db import load_sql
from doctor_migration.migration.seal import Seal
from doctor_migration.migration.stage import stage_doctor_rows
from doctor_migration.names import SHOWN


@dataclass(frozen=True)
class Reconciliation:
    """Differences between the target and the mapping, by legacy user id: how many of each
    kind, and the first SHOWN."""

    compared: int
    mismatches: dict[int, list[str]] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)
    unexpected: list[int] = field(default_factory=list)
    differing_count: int = 0
    missing_count: int = 0
    unexpected_count: int = 0

    @property
    def passed(self) -> bool:
        return not (self.differing_count or self.missing_count or self.unexpected_count)

    @property
    def summary(self) -> str:
        return (f"{self.compared} migrated rows compared with the mapping: "
                f"{self.differing_count} differ, {self.missing_count} missing, "
                f"{self.unexpected_count} not clean")

    def to_json(self) -> dict:
        values = asdict(self)
        values["mismatches"] = [[uid, columns] for uid, columns in self.mismatches.items()]
        return values

    @classmethod
    def from_json(cls, values: dict) -> Reconciliation:
        return cls(**{**values, "mismatches": {int(u): list(c) for u, c in values["mismatches"]}})


def reconcile(conn: psycopg.Connection, stage_id: str,
              sealed: Seal | None = None) -> Reconciliation:
    """Column-by-column comparison of the target's migrated rows with the command's doctor_rows
    (verified against the seal the load verified, when given). Writes nothing: the typed copy
    lives in a rolled-back transaction."""
    with conn.transaction(force_rollback=True):
        stage_doctor_rows(conn, stage_id, sealed)
        return compare_staged(conn)


def compare_staged(conn: psycopg.Connection) -> Reconciliation:
    """The comparison, against the rows staged in this transaction (a dry run uses it on the
    state it is about to roll back)."""
    mismatches: dict[int, list[str]] = {}
    missing: list[int] = []
    unexpected: list[int] = []
    counts = {"differing": 0, "missing": 0, "unexpected": 0}
    compared = conn.execute(load_sql("count_migrated_doctors")).fetchone()[0]
    for uid, not_clean, absent, columns in conn.execute(load_sql("select_mapping_mismatches")):
        if not_clean:
            counts["unexpected"] += 1
            if len(unexpected) < SHOWN:
                unexpected.append(int(uid))
        elif absent:
            counts["missing"] += 1
            if len(missing) < SHOWN:
                missing.append(int(uid))
        else:
            counts["differing"] += 1
            if len(mismatches) < SHOWN:
                mismatches[int(uid)] = list(columns)
    return Reconciliation(compared, mismatches, missing, unexpected, counts["differing"],
                          counts["missing"], counts["unexpected"])
