"""Step 4 of the plan: the profile join and the legacy id lookup, measured with EXPLAIN
ANALYZE after the load, against the plan's thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from doctor_migration.migration import locks
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import DatabaseBusy, MigrationError
from doctor_migration.names import (
    LEGACY_ID_LOOKUP_UNDER_10MS,
    LOCK_TIMEOUT,
    PROFILE_JOIN_UNDER_100MS,
)

INDEX_ADVICE = ("CREATE INDEX CONCURRENTLY doctors_legacy_user_id_idx "
                "ON public.doctors (legacy_user_id);")


@dataclass(frozen=True)
class Timing:
    """One measured query of step 4."""

    step: str
    name: str
    threshold_ms: float
    planning_ms: float
    execution_ms: float
    node_types: list[str]

    @property
    def total_ms(self) -> float:
        return self.planning_ms + self.execution_ms

    @property
    def passed(self) -> bool:
        return self.total_ms < self.threshold_ms

    @property
    def sequential_scan_on_doctors(self) -> bool:
        return "Seq Scan" in self.node_types


def _node_types(plan: dict) -> list[str]:
    types = [plan["Node Type"]]
    for child in plan.get("Plans", []):
        types += _node_types(child)
    return types


def _explain(conn: psycopg.Connection, name: str, params: dict | None = None) -> dict:
    return conn.execute(load_sql(name), params).fetchone()[0][0]


def measure(conn: psycopg.Connection, legacy_user_id: int | None,
            lock_timeout: str = LOCK_TIMEOUT) -> list[Timing]:
    """Steps 4.1 and 4.2 (4.2 only when a migrated legacy id exists), read-only; a lock wait
    ends after lock_timeout."""
    timings = []
    with conn.transaction():
        locks.set_lock_timeout(conn, lock_timeout)
        plan = _explain(conn, "explain_profile_join")
        timings.append(Timing("4.1", PROFILE_JOIN_UNDER_100MS, 100.0, plan["Planning Time"],
                              plan["Execution Time"], _node_types(plan["Plan"])))
        if legacy_user_id is not None:
            plan = _explain(conn, "explain_legacy_lookup", {"legacy_user_id": legacy_user_id})
            timings.append(Timing("4.2", LEGACY_ID_LOOKUP_UNDER_10MS, 10.0,
                                  plan["Planning Time"], plan["Execution Time"],
                                  _node_types(plan["Plan"])))
    return timings


def legacy_id_index(conn: psycopg.Connection) -> str | None:
    """The name of an index that serves legacy id lookups, if there is one."""
    with conn.transaction():
        row = conn.execute(load_sql("select_legacy_id_index")).fetchone()
    return row[0] if row else None


def create_legacy_id_index(conn: psycopg.Connection, lock_timeout: str = LOCK_TIMEOUT) -> None:
    """Only when the operator asks (--create-indexes): CONCURRENTLY, outside a transaction.

    CREATE INDEX CONCURRENTLY waits for the writers of doctors and then for every older
    snapshot in the database: at most lock_timeout, which must be set for the session since
    the statement cannot run in a transaction. When it gives up, the INVALID index it leaves
    is dropped, so that the target is as it was and the next attempt builds a valid one.
    """
    autocommit = conn.autocommit
    conn.autocommit = True
    try:
        locks.set_lock_timeout(conn, lock_timeout, local=False)
        try:
            conn.execute(load_sql("create_legacy_id_index"))
        except psycopg.errors.LockNotAvailable:
            raise _index_busy(conn, lock_timeout) from None
        finally:
            if not conn.broken:
                conn.execute(load_sql("reset_lock_timeout"))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise MigrationError(
            f"the index was not created ({exc.diag.message_primary}): only the owner of "
            f"public.doctors may create it; ask them to run: {INDEX_ADVICE}") from None
    finally:
        conn.autocommit = autocommit


def _index_busy(conn: psycopg.Connection, lock_timeout: str) -> DatabaseBusy:
    """Who CREATE INDEX CONCURRENTLY waited for; the INVALID index it left, dropped."""
    role = conn.info.user
    holders = locks.lock_holders(conn, {"public.doctors": "ShareLock"}).get("public.doctors")
    if holders:
        who = f"{locks.named(holders, role)}, which holds a lock on public.doctors"
    else:
        older = locks.snapshot_holders(conn)
        who = (f"{locks.named(older, role)}, which holds an older snapshot" if older else
               f"a session role {role} may not see, or that has ended since")
    left = ""
    with conn.transaction():
        invalid = conn.execute(load_sql("select_invalid_legacy_id_index")).fetchone()
    if invalid and invalid[0]:
        try:
            conn.execute(load_sql("drop_legacy_id_index"))
            left = "the invalid index it left was dropped and "
        except psycopg.errors.LockNotAvailable:
            return DatabaseBusy(
                f"CREATE INDEX CONCURRENTLY doctors_legacy_user_id_idx waited {lock_timeout} "
                f"for {who}, and the invalid index it left could not be dropped either: once "
                "that session is done, run DROP INDEX CONCURRENTLY "
                "public.doctors_legacy_user_id_idx; then run again; nothing else was changed")
    return DatabaseBusy(
        f"CREATE INDEX CONCURRENTLY doctors_legacy_user_id_idx waited {lock_timeout} for "
        f"{who}; {left}nothing was changed: {locks.AGAIN}")
