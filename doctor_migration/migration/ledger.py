"""The run ledger: history of runs, and an exact undo of any of them.

The plan's rollback (DELETE FROM doctors WHERE updated_at >= ...) would delete doctors the
migration did not create, forget what it updated or deleted, and break every table that
references doctors.id. This one restores, in one transaction, the state before the run
from the before-images the run recorded, and refuses when that would lose someone's work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg import sql

from doctor_migration.migration import target
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError, os_user

SHOWN = 50


class RollbackRefused(MigrationError):
    """The rollback would not restore the state before the run exactly; nothing was changed."""


@dataclass(frozen=True)
class RunEntry:
    """One run as the ledger knows it."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None
    db_user: str
    os_user: str | None
    tool_version: str | None
    expected_count: int | None
    clean_count: int | None
    inserted: int
    updated: int
    deleted: int
    unchanged: int
    rolled_back_at: datetime | None
    rolled_back_by: str | None

    @property
    def state(self) -> str:
        if self.rolled_back_at is None:
            return "applied"
        return f"rolled back {self.rolled_back_at:%Y-%m-%d %H:%M:%S %Z} by {self.rolled_back_by}"


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback restored."""

    run_id: str
    removed: int
    restored: int
    recreated: int
    seconds: float


def _ledger_exists(conn: psycopg.Connection) -> bool:
    return conn.execute(load_sql("select_ledger_exists")).fetchone()[0]


def history(conn: psycopg.Connection, limit: int = 20) -> list[RunEntry]:
    """The ledger's runs, newest first (empty when no run ever committed)."""
    with conn.transaction():
        if not _ledger_exists(conn):
            return []
        return [RunEntry(*row) for row in conn.execute(load_sql("select_runs"), {"limit": limit})]


def last_run_id(conn: psycopg.Connection) -> str:
    """The newest run that is not rolled back."""
    with conn.transaction():
        row = conn.execute(load_sql("select_last_run")).fetchone() if _ledger_exists(conn) else None
    if row is None:
        raise RollbackRefused("there is no run to roll back: the ledger has no applied run")
    return row[0]


def _columns(conn: psycopg.Connection) -> tuple[sql.Composable, sql.Composable]:
    names = [r[0] for r in conn.execute(load_sql("select_doctor_columns")).fetchall()]
    return (sql.SQL(", ").join(sql.Identifier(n) for n in names),
            sql.SQL(", ").join(sql.Identifier("b", n) for n in names))


def _refuse_unless_restorable(conn: psycopg.Connection, run_id: str) -> None:
    later = conn.execute(load_sql("select_later_runs_touching"), {"run_id": run_id}).fetchall()
    if later:
        named = ", ".join(f"{rid} ({n} rows)" for rid, n in later)
        raise RollbackRefused(
            f"run {run_id} cannot be rolled back: later runs changed the same doctors and are "
            f"not rolled back: {named}; roll those back first (newest first). Nothing was changed"
        )
    changed = conn.execute(load_sql("select_rows_changed_since_run"), {"run_id": run_id}).fetchall()
    if changed:
        named = "; ".join(f"doctors row {did} (legacy user {uid}, {action}ed by the run): {problem}"
                          for did, uid, action, problem in changed[:SHOWN])
        raise RollbackRefused(
            f"run {run_id} cannot be rolled back exactly: {len(changed)} of its rows changed "
            f"since: {named}. Nothing was changed"
        )
    inserted = [r[0] for r in conn.execute(
        load_sql("select_run_doctor_ids"), {"run_id": run_id, "action": "insert"})]
    references = target.referencing_rows(conn, inserted)
    if references:
        raise RollbackRefused(
            f"run {run_id} cannot be rolled back: rows it inserted are now referenced: "
            + "; ".join(references[:SHOWN]) + ". Nothing was changed"
        )


def _expect(what: str, done: int, planned: int) -> None:
    if done != planned:
        raise MigrationError(f"{what} affected {done} rows where {planned} were planned; "
                             "the rollback was undone, nothing was changed")


def rollback(conn: psycopg.Connection, run_id: str,
             timeouts: target.Timeouts = target.Timeouts()) -> RollbackResult:
    """Restore exactly the state before `run_id`, in one transaction, or refuse and change
    nothing. Doctors the run did not touch are not touched."""
    started = time.perf_counter()
    with conn.transaction():
        target.begin(conn, "rollback", run_id, timeouts)
        if not _ledger_exists(conn):
            raise RollbackRefused(f"no run {run_id} in the ledger: no run ever committed here")
        run = conn.execute(load_sql("select_run_for_rollback"), {"run_id": run_id}).fetchone()
        if run is None:
            raise RollbackRefused(
                f"no run {run_id} in the ledger (doctor-migration history lists the runs)")
        _, _, rolled_back_at, rolled_back_by, inserted, updated, deleted = run
        if rolled_back_at is not None:
            raise RollbackRefused(
                f"run {run_id} was already rolled back at {rolled_back_at:%Y-%m-%d %H:%M:%S %Z} "
                f"by {rolled_back_by}; nothing was changed")
        target.lock_doctors(conn, timeouts.lock_timeout)
        _refuse_unless_restorable(conn, run_id)

        columns, values = _columns(conn)
        ids = {"run_id": run_id}
        _expect("removing inserted rows",
                conn.execute(load_sql("delete_inserted_doctors"), ids).rowcount, inserted)
        restore = sql.SQL(load_sql("restore_updated_doctors")).format(
            columns=columns, values=values)
        _expect("restoring updated rows", conn.execute(restore, ids).rowcount, updated)
        recreate = sql.SQL(load_sql("restore_deleted_doctors")).format(
            columns=columns, values=values)
        _expect("recreating deleted rows", conn.execute(recreate, ids).rowcount, deleted)
        wrong = conn.execute(load_sql("select_rows_not_restored"), ids).fetchall()
        if wrong:
            raise MigrationError(f"{len(wrong)} rows did not return to their state before run "
                                 f"{run_id}; the rollback was undone, nothing was changed")
        conn.execute(load_sql("mark_run_rolled_back"), {
            **ids, "rolled_back_by": f"{conn.info.user} ({os_user()})"})
    return RollbackResult(run_id, inserted, updated, deleted, time.perf_counter() - started)
