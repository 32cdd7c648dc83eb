"""Waits with an end: a statement that queues behind another session's lock gives up after
the operator's lock timeout, and the error names the sessions in the way."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import DatabaseBusy, MigrationError

_MODES = ["AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
          "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"]
# PostgreSQL's table of conflicting lock modes: who, holding (or queued for) which mode, keeps
# a session that asks for a mode waiting. Readers of a table do not block a reader.
CONFLICTS: dict[str, set[str]] = {
    "AccessShareLock": {"AccessExclusiveLock"},
    "RowShareLock": {"ExclusiveLock", "AccessExclusiveLock"},
    "RowExclusiveLock": {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
                         "AccessExclusiveLock"},
    "ShareUpdateExclusiveLock": set(_MODES[3:]),
    "ShareLock": {"RowExclusiveLock", "ShareUpdateExclusiveLock", *_MODES[5:]},
    "ShareRowExclusiveLock": set(_MODES[2:]),
    "ExclusiveLock": set(_MODES[1:]),
    "AccessExclusiveLock": set(_MODES),
}
AGAIN = "let that session finish (or end it), then run again"


@dataclass(frozen=True)
class Session:
    """Another session, as much of it as this role may see."""

    pid: int
    user: str | None
    application: str | None
    xact_start: datetime | None

    def describe(self, role: str) -> str:
        since = (f"in a transaction since "
                 f"{self.xact_start.astimezone(UTC):%Y-%m-%d %H:%M:%S %Z}"
                 if self.xact_start else f"since a time role {role} may not see")
        return (f"pid {self.pid} (user {self.user or '?'}, "
                f"application {self.application or '-'}, {since})")


def set_lock_timeout(conn: psycopg.Connection, lock_timeout: str, local: bool = True) -> None:
    """Bound every lock wait: in the current transaction, or (local False) in the session."""
    try:
        conn.execute(load_sql("set_lock_timeout"),
                     {"lock_timeout": lock_timeout, "is_local": local})
    except psycopg.errors.InvalidParameterValue as exc:
        raise MigrationError(
            f"{exc.diag.message_primary}: give durations as PostgreSQL writes them, "
            "e.g. 30s, 2min, 500ms; nothing was changed") from None


def named(sessions: list[Session], role: str) -> str:
    """The sessions, one after another, as much as `role` may see of them."""
    return ", ".join(s.describe(role) for s in sessions)


def lock_holders(conn: psycopg.Connection, wanted: Mapping[str, str]) -> dict[str, list[Session]]:
    """Per table of `wanted` (table: the lock mode the tool asks for), the other sessions that
    hold or queue for a conflicting lock on it."""
    with conn.transaction():
        rows = conn.execute(load_sql("select_relation_locks"),
                            {"tables": list(wanted)}).fetchall()
    found: dict[str, list[Session]] = {}
    for table, pid, user, application, xact_start, mode, _ in rows:
        if mode in CONFLICTS[wanted[table]]:
            sessions = found.setdefault(table, [])
            if all(s.pid != pid for s in sessions):
                sessions.append(Session(pid, user, application, xact_start))
    return found


def busy(conn: psycopg.Connection, where: str, wanted: Mapping[str, str],
         lock_timeout: str, outcome: str = "nothing was changed") -> DatabaseBusy:
    """The error for a lock wait on `conn` that hit lock_timeout: which of the `wanted`
    tables were locked, and by whom; `outcome` says what became of the target. Call it once
    the failed transaction is rolled back."""
    try:
        found = lock_holders(conn, wanted) if wanted else {}
    except psycopg.Error:
        found = {}
    role = conn.info.user
    if not found:
        cause = (f"a table stayed locked for {lock_timeout} by a session that has let go of it "
                 "since")
        return DatabaseBusy(f"on the {where}, {cause}; {outcome}, run again", cause)
    tables = list(found)
    sessions = list({s.pid: s for table in tables for s in found[table]}.values())
    names = tables[0] if len(tables) == 1 else ", ".join(tables[:-1]) + " and " + tables[-1]
    cause = f"{names} stayed locked for {lock_timeout} by {named(sessions, role)}"
    return DatabaseBusy(f"the {where}'s {cause}; {outcome}: {AGAIN}", cause)


@contextmanager
def naming_blockers(conn: psycopg.Connection, where: str, wanted: Mapping[str, str],
                    lock_timeout: str, outcome: str = "nothing was changed") -> Iterator[None]:
    """A lock timeout inside the block (which must end its own transaction) becomes
    DatabaseBusy naming the sessions that hold the `wanted` tables."""
    try:
        yield
    except psycopg.errors.LockNotAvailable:
        raise busy(conn, where, wanted, lock_timeout, outcome) from None


@contextmanager
def bounded_transaction(conn: psycopg.Connection, where: str, wanted: Mapping[str, str],
                        lock_timeout: str, outcome: str = "nothing was changed") -> Iterator[None]:
    """A transaction whose lock waits end after lock_timeout, naming the sessions in the way."""
    with naming_blockers(conn, where, wanted, lock_timeout, outcome), conn.transaction():
        set_lock_timeout(conn, lock_timeout)
        yield


def snapshot_holders(conn: psycopg.Connection) -> list[Session]:
    """Other sessions of this database with an open snapshot or transaction, oldest first."""
    with conn.transaction():
        return [Session(*row) for row in conn.execute(load_sql("select_snapshot_holders"))]
