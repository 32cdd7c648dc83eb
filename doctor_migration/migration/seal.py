"""Seals: what the gates passed is what the load writes.

A step that fills or checks a stage table seals it: the count of the command's rows and a
digest of the transactions that wrote them, taken in the same snapshot as the step's own work,
and recorded with the step's output in the Dagster run (ids, counts and digests only). The next
step verifies the seals of what it reads inside the transaction that uses it; the load verifies
the seal of doctor_rows in the very statement that copies the rows into its typed stage, after
its locks, in the transaction that writes them. A session that can rewrite the stage cannot
rewrite the run's event log, so any change to a sealed table in between (rows deleted, edited
or added, a refill by another command) stops the command before it writes.

The digest reads no value: PostgreSQL stamps every row version an INSERT or UPDATE writes with
its transaction's id, so the writers of the rows, and how many each wrote, change with any write
(select_stage_digest.sql). It costs a scan of the rows, where a digest of their text costs
their text and a sort.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import psycopg
from psycopg import sql

from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError, StopMigration
from doctor_migration.names import SHOWN

SCHEMA = "doctor_migration"


class StageChanged(StopMigration):
    """A sealed stage table no longer holds what its step sealed: nothing was written."""


@dataclass(frozen=True)
class Seal:
    """The count and digest of a stage table's rows of one stage, as a step saw them."""

    table: str  # the stage table, e.g. "doctor_rows"
    stage_id: str
    sealed_by: str  # the Dagster run whose step took the seal
    rows: int
    digest: str

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict) -> Seal:
        return cls(**{name: values[name] for name in
                      ("table", "stage_id", "sealed_by", "rows", "digest")})


def query(table: str) -> sql.Composed:
    """The statement that takes the seal of the stage table `table` (count, digest) for the
    stage %(run_id)s, as a statement of its own or inside another one."""
    statement = load_sql("select_stage_digest").rstrip().removesuffix(";")
    return sql.SQL(statement).format(table=sql.Identifier(SCHEMA, table))


def _count(conn: psycopg.Connection, table: str, stage_id: str) -> tuple[int, str]:
    rows, digest = conn.execute(query(table), {"run_id": stage_id}).fetchone()
    return int(rows), digest


def take(conn: psycopg.Connection, table: str, stage_id: str, sealed_by: str) -> Seal:
    """The seal of the stage table `table`'s rows of `stage_id`, in the current snapshot."""
    rows, digest = _count(conn, table, stage_id)
    return Seal(table=table, stage_id=stage_id, sealed_by=sealed_by, rows=rows, digest=digest)


def verify(conn: psycopg.Connection, seal: Seal, stage_id: str,
           found: tuple[int, str] | None = None) -> None:
    """Stop (StageChanged) unless the sealed stage table holds exactly the rows of `stage_id`
    that `seal` was taken of: as they are now, or `found`, the (count, digest) a statement that
    used them took of them (query())."""
    if seal.stage_id != stage_id:
        raise StageChanged(
            f"the seal of {SCHEMA}.{seal.table} belongs to stage {seal.stage_id}, not to this "
            f"command's stage {stage_id}; nothing was written: run the migration again")
    rows, digest = found or _count(conn, seal.table, stage_id)
    if (rows, digest) == (seal.rows, seal.digest):
        return
    raise StageChanged(
        f"{SCHEMA}.{seal.table} of stage {stage_id} is not what run {seal.sealed_by} checked "
        f"and sealed ({seal.rows} rows then, {rows} now"
        + ("" if rows != seal.rows else ", the same count but rows written since")
        + f"){_named(conn, seal.table, stage_id)}; another session or command changed it "
        "after its step, so nothing was written: run the migration again")


def _named(conn: psycopg.Connection, table: str, stage_id: str) -> str:
    """Where the load can tell: the legacy ids in doctor_rows that clean_doctors does not
    hold, and the clean doctors doctor_rows lacks (ids only, never values)."""
    if table != "doctor_rows":
        return ""
    extra, missing = conn.execute(load_sql("select_doctor_rows_differences"),
                                  {"run_id": stage_id}).fetchone()
    parts = []
    if extra:
        parts.append("legacy ids not among the clean doctors: "
                     + ", ".join(map(str, extra[:SHOWN])))
    if missing:
        parts.append("clean doctors missing: " + ", ".join(map(str, missing[:SHOWN])))
    return "; " + "; ".join(parts) if parts else ""


def snapshot_age(conn: psycopg.Connection, taken_at: str, max_age: str) -> float:
    """The age in seconds of the source snapshot taken at `taken_at` (ISO 8601) that a
    re-execution would migrate again; past `max_age` (an interval), it stops."""
    try:
        with conn.transaction():
            seconds, too_old = conn.execute(load_sql("select_snapshot_age"), {
                "taken_at": taken_at, "max_age": max_age}).fetchone()
    except (psycopg.errors.InvalidDatetimeFormat, psycopg.errors.InvalidParameterValue):
        raise MigrationError(
            f"max_snapshot_age {max_age!r} is not an interval: give it as PostgreSQL writes "
            "intervals, e.g. 1h, 30min; nothing was changed") from None
    if too_old:
        raise StopMigration(
            f"this re-execution would migrate the source snapshot taken at {taken_at}, "
            f"{seconds / 60:.0f} min ago, older than max_snapshot_age {max_age}; nothing was "
            "written: launch a new run (`doctor-migration run`, or Materialize all), which reads "
            "the source again")
    return seconds
