"""Every migrated row, as the target holds it, against what the mapping says it must be, in SQL
on the target: inside the load's transaction against the rows it merges, column by column; on
its own (the check executed alone) against the digests the ledger recorded for the newest
applied run. Only the differing rows come back, and only the first SHOWN of each kind are
kept."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import psycopg

from psycopg import sql

from doctor_migration.migration.db import load_sql
from doctor_migration.migration.mapping import digest
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


def compare_staged(conn: psycopg.Connection) -> Reconciliation:
    """The comparison inside the load's transaction, column by column, against the rows it
    merges (pg_temp.doctor_stage)."""
    return _tally(conn, conn.execute(load_sql("select_mapping_mismatches")))


def compare_with_run(conn: psycopg.Connection, run_id: str) -> Reconciliation:
    """The comparison of the live target with what the committed run `run_id` left, by the
    digests the ledger recorded (run_digests): names the rows, not their columns."""
    return _tally(conn, conn.execute(
        sql.SQL(load_sql("select_digest_mismatches")).format(digest=digest("d")),
        {"run_id": run_id}))


def _tally(conn: psycopg.Connection, rows) -> Reconciliation:
    """(legacy id, not clean, missing, differing columns) rows, counted by kind."""
    mismatches: dict[int, list[str]] = {}
    missing: list[int] = []
    unexpected: list[int] = []
    counts = {"differing": 0, "missing": 0, "unexpected": 0}
    for uid, not_clean, absent, columns in rows.fetchall():
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
                mismatches[int(uid)] = list(columns or [])
    compared = conn.execute(load_sql("count_migrated_doctors")).fetchone()[0]
    return Reconciliation(compared, mismatches, missing, unexpected, counts["differing"],
                          counts["missing"], counts["unexpected"])
