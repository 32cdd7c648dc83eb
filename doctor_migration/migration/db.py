"""Connections to the source and the target: safe settings, readable errors, no secrets."""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import TypeVar

import psycopg
from psycopg import pq, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from doctor_migration import names
from doctor_migration.migration.errors import DatabaseBusy, MigrationError
from doctor_migration.names import LOCK_TIMEOUT

T = TypeVar("T")

APPLICATION_NAME = "doctor-migration"
# Notice a dead server within about a minute instead of the system's two hours; a URL that
# sets its own keepalives wins.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}
# Text always arrives as UTF-8: on a SQL_ASCII database the server would send its bytes
# unconverted and psycopg would hand them over as bytes, not str.
CLIENT_DEFAULTS = {**KEEPALIVES, "client_encoding": "UTF8"}
# How long, after a lost connection, to wait for the server to end the tool's old session.
SETTLE_SECONDS = 10.0
# How long connecting may take, in seconds, unless the lock timeout is shorter.
CONNECT_TIMEOUT = 10
# A duration as PostgreSQL reads a time setting such as lock_timeout: a bare number is
# milliseconds.
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|s|min|h|d)?\s*")
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, None: 1e-3, "s": 1, "min": 60, "h": 3600, "d": 86400}
# The pause between two attempts to ask a target that could not be reached.
RETRY_SECONDS = 0.5


@cache
def load_sql(name: str) -> str:
    """The statement in doctor_migration/sql/<name>.sql."""
    return files("doctor_migration").joinpath("sql", f"{name}.sql").read_text()


def seconds(duration: str) -> float | None:
    """A time setting as PostgreSQL reads it ("5s", "2min", "500ms"), in seconds; None for 0
    (no limit) or a text PostgreSQL would refuse (it says why when the tool sets it)."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        return None
    value = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value or None


@contextmanager
def waiting_at_most(conn: psycopg.Connection, limit: float | None) -> Iterator[threading.Event]:
    """Statements of the block still waiting for the server after `limit` seconds end with an
    OperationalError, the connection broken; the event yielded tells that this happened.
    The connection's socket is shut down, not the statement cancelled: PgBouncer drops a cancel
    for a client it keeps waiting for a server connection ("cancel request for idle client")."""
    expired = threading.Event()
    ended = False
    lock = threading.Lock()

    def expire() -> None:
        with lock:
            if not ended:
                expired.set()
                with suppress(OSError), socket.socket(fileno=os.dup(conn.fileno())) as sock:
                    sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(limit, expire) if limit else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield expired
    finally:
        with lock:
            ended = True
        if timer:
            timer.cancel()


# The password of a URL as the operator wrote it: up to the last "@" of the part before the
# query, so that a raw "@" in it (which libpq takes as the end of the password) is covered too.
_RAW_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^:/@?]*:(.*)@")


def _passwords(url: str) -> list[str]:
    """Every string that is, or may be, the URL's password: libpq's reading and the raw one."""
    found = []
    try:
        found.append(conninfo_to_dict(url).get("password"))
    except psycopg.ProgrammingError:
        pass
    raw = _RAW_PASSWORD.match(url.split("?", 1)[0])
    if raw:
        found.append(raw.group(1))
    return sorted({p for p in found if p}, key=len, reverse=True)


def redact(url: str) -> str:
    """The URL with any password removed, for messages and logs."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        params = None
    if params is None or _raw_at(params):
        return _RAW_PASSWORD.sub(lambda m: m.group(0).replace(m.group(1), "***"),
                                 url.split("?", 1)[0])
    if "password" in params:
        params["password"] = "***"
    host = params.get("host", "")
    where = f"{host}:{params['port']}" if params.get("port") else host
    return f"{params.get('user', '')}@{where}/{params.get('dbname', '')}"


def read_url(url: str, role: str) -> dict:
    """libpq's reading of the `role` database's URL; a URL it cannot read is bad input."""
    # libpq's complaints quote the URL around the fault, which is often inside the password.
    invalid = f"the {role} database URL is not valid"
    encode = "percent-encode any @, :, /, % or ? in its user name or password (@ as %40)"
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0].split(": ", 1)[0] if text else ""
        raise MigrationError(f"{invalid} ({scrub(reason, url) or 'libpq cannot read it'}): "
                             f"{encode}") from None
    if _raw_at(params):
        raise MigrationError(f"{invalid} (it holds more than one @): {encode}")
    return params


def location(url: str, role: str = "target") -> str:
    """Which database a URL names, as host:port/dbname with libpq's defaults filled in: no
    user, no password (a run's target tag)."""
    params = read_url(url, role)
    env = os.environ.get
    host = params.get("host") or params.get("hostaddr") or env("PGHOST") or "localhost"
    port = params.get("port") or env("PGPORT") or "5432"
    dbname = (params.get("dbname") or env("PGDATABASE") or params.get("user") or env("PGUSER")
              or "")
    return f"{host}:{port}/{dbname}"


def _raw_at(params: dict) -> bool:
    """Whether libpq read part of a password with a raw "@" as the host or the port."""
    return any("@" in (params.get(k) or "") for k in ("host", "port"))


def scrub(message: str, url: str) -> str:
    """The message with the URL, and the URL's password, if any, blotted out."""
    message = message.replace(url, redact(url))
    for password in _passwords(url):
        message = message.replace(password, "***")
    return message


@dataclass(frozen=True)
class Transaction:
    """A transaction of the tool on the target, as target.begin recorded it: enough to tell,
    after the connection is lost, whether it committed."""

    xid: str
    pid: int
    application_name: str
    what: str  # "run", "plan" or "rollback"
    run_id: str
    # The command's --lock-timeout: how long to keep asking a target that cannot be reached.
    lock_timeout: str = LOCK_TIMEOUT

    @property
    def activity(self) -> str:
        return {"run": f"the load of run {self.run_id}", "plan": "the dry run",
                "rollback": f"the rollback of run {self.run_id}"}.get(self.what, self.what)


_transactions: weakref.WeakKeyDictionary[psycopg.Connection, Transaction] = \
    weakref.WeakKeyDictionary()


def track(conn: psycopg.Connection, transaction: Transaction) -> None:
    """Remember the transaction `conn` has open, for connection_lost."""
    _transactions[conn] = transaction


def _reason(exc: BaseException, url: str) -> str:
    text = str(exc).strip()
    return scrub(text.splitlines()[0], url) if text else type(exc).__name__


def patiently(ask: Callable[[], T | None], lock_timeout: str) -> T | None:
    """ask()'s answer; while it has none (the target cannot be reached: it may be restarting
    after a crash), asked again after a pause, for up to lock_timeout."""
    deadline = time.monotonic() + (seconds(lock_timeout) or seconds(LOCK_TIMEOUT))
    while (answer := ask()) is None and time.monotonic() < deadline:
        time.sleep(RETRY_SECONDS)
    return answer


def _settle(conninfo: str, transaction: Transaction) -> str | None:
    """The lost transaction's fate: "committed" or "aborted" (its session, if still there,
    is ended first); "in progress" if it could not be ended; None if the server cannot say,
    reconnecting to ask again for up to the command's lock timeout."""
    return patiently(lambda: _settle_once(conninfo, transaction), transaction.lock_timeout)


def _settle_once(conninfo: str, transaction: Transaction) -> str | None:
    """_settle, asked once."""
    try:
        with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None,
                             connect_timeout=5,
                             application_name=f"{APPLICATION_NAME} check") as check:
            def status() -> str | None:
                return check.execute(load_sql("select_transaction_status"),
                                     {"xid": transaction.xid}).fetchone()[0]

            state = status()
            if state == "in progress":
                # Our own orphaned session (same pid, same application_name with the run id):
                # end it, so the transaction is rolled back now and its locks are freed.
                check.execute(load_sql("terminate_lost_session"), {
                    "pid": transaction.pid, "application_name": transaction.application_name})
            deadline = time.monotonic() + SETTLE_SECONDS
            while state == "in progress" and time.monotonic() < deadline:
                time.sleep(0.1)
                state = status()
            return state
    except psycopg.Error:
        return None


def connection_lost(conninfo: str, url: str, role: str, exc: BaseException,
                    transaction: Transaction | None) -> MigrationError:
    """One sentence for a connection that broke: what became of the tool's transaction, if it
    had one, and what to do."""
    lost = f"the connection to the {role} database was lost ({_reason(exc, url)})"
    if transaction is None:
        return MigrationError(f"{lost} while no write was in progress; run again")
    state = _settle(conninfo, transaction)
    what = transaction.activity
    if state == "aborted":
        return MigrationError(f"{lost} during {what}; nothing was committed, the server rolled "
                              "the transaction back; run again")
    if state == "committed":
        done = ("the migration is applied and recorded in the ledger (`doctor-migration "
                "history` lists it): do not run it again" if transaction.what == "run"
                else f"run {transaction.run_id} is rolled back (`doctor-migration history`)")
        return MigrationError(f"{lost} just after {what} committed: {done}")
    if state == "in progress":
        return MigrationError(
            f"{lost} during {what}; nothing is committed, but the server still holds the "
            f"transaction open (pid {transaction.pid}) until it notices; run again once that "
            "session is gone")
    return MigrationError(
        f"{lost} during {what}, and the server could not be asked whether it committed "
        f"(asked again for {transaction.lock_timeout}): if "
        f"`doctor-migration history` lists run {transaction.run_id} as applied it did, "
        "otherwise nothing was written; then run again if needed")


# The server settings that end a statement or a session of the tool, by the SQLSTATE of the
# error, with the tool's own value on the target (target.Timeouts; none on the source).
STATEMENT_TIMEOUT, IDLE_TIMEOUT = "statement_timeout", "idle_in_transaction_session_timeout"
OWN_LIMITS = {STATEMENT_TIMEOUT: names.STATEMENT_TIMEOUT, IDLE_TIMEOUT: names.IDLE_TIMEOUT}


def timed_out(exc: psycopg.Error) -> str | None:
    """The setting whose limit ended the statement or session `exc` reports, if one did."""
    if exc.sqlstate == "57014" and "statement timeout" in str(exc):
        return STATEMENT_TIMEOUT
    if exc.sqlstate == "25P03":
        return IDLE_TIMEOUT
    return None


# How many sessions _server_limit opens at most to read the server's own limit, which its
# statement keeps hitting.
LIMIT_ATTEMPTS = 5


def _server_limit(conninfo: str, role: str, name: str) -> tuple[str, str, str, bool] | None:
    """(role, database, the `role` server's value of the limit `name`, whether it is on and
    shorter than the tool's own) as a new session sees them; None when the server cannot be
    asked."""
    own = OWN_LIMITS[name] if role == "target" else None
    params = {"name": name, "own_limit": own}
    # Set by ALTER ROLE or ALTER DATABASE (the usual case): read in a session with no
    # statement_timeout of its own, which a limit as short as 1ms cannot cancel.
    try:
        with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None,
                             connect_timeout=5, options=" ".join(filter(None, (
                                 conninfo_to_dict(conninfo).get("options"),
                                 "-c statement_timeout=0"))),
                             application_name=f"{APPLICATION_NAME} check") as check:
            configured = check.execute(load_sql("select_configured_limit"), params).fetchone()
    except psycopg.Error:
        return None
    if configured is not None:
        return configured
    # Else the server's own setting, as a new session gets it; a very short one can cancel
    # even this cheap statement on a busy server: a few new sessions ask again.
    for _ in range(LIMIT_ATTEMPTS):
        try:
            with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None,
                                 connect_timeout=5,
                                 application_name=f"{APPLICATION_NAME} check") as check:
                return check.execute(load_sql("select_server_limit"), params).fetchone()
        except psycopg.errors.QueryCanceled:
            continue
        except psycopg.Error:
            return None
    return None
    return None


def _lift(url: str, role: str, user: str, dbname: str, name: str) -> str:
    """What the operator runs so that the server's `name` no longer ends the tool's work."""
    if name in (conninfo_to_dict(url).get("options") or "") + os.environ.get("PGOPTIONS", ""):
        return f"remove {name} from the options of the {role} URL (or from PGOPTIONS)"
    statement = sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = 0").format(
        sql.Identifier(user), sql.Identifier(dbname), sql.SQL(name)).as_string()
    return f"run `{statement}` as that role (0 turns it off; or give a longer value)"


def setting_error(conninfo: str, url: str, role: str, conn: psycopg.Connection,
                  exc: psycopg.Error) -> MigrationError | None:
    """The sentence for an error that a setting of the `role` database explains: text of a
    SQL_ASCII database that is not UTF-8, or a statement_timeout or
    idle_in_transaction_session_timeout that ended the tool's statement or session (the
    server's own setting is bad input; on the target, the tool's own limit means try again).
    None when no setting of this database explains it: it may be another connection's error
    passing through (stage.py opens the source's connections inside the target's)."""
    if exc.sqlstate == "22021" and not conn.broken \
            and conn.info.parameter_status("server_encoding") == "SQL_ASCII":
        return MigrationError(
            f"the {role} database {conn.info.dbname} has encoding SQL_ASCII and holds bytes "
            "that are not valid UTF-8, so the tool cannot read its text: convert that text to "
            "UTF-8 (if the bytes are Latin-1: pg_dump --encoding=LATIN1, restored into a "
            "database created with ENCODING 'UTF8') and run against the converted database")
    name = timed_out(exc)
    limit = _server_limit(conninfo, role, name) if name else None
    if limit is None:
        return None
    user, dbname, value, servers = limit
    if servers:
        ended = ("cancelled a statement of the tool" if name == STATEMENT_TIMEOUT else
                 "ended the tool's session, rolling back its transaction,")
        return MigrationError(f"the {role} database {dbname} {ended} at its {name} of {value} "
                              f"for role {user}: {_lift(url, role, user, dbname, name)}, "
                              "then run again")
    if role != "target":
        return None
    if name == STATEMENT_TIMEOUT:
        return DatabaseBusy(f"a statement of the tool on the target database {dbname} ran "
                            f"longer than the tool's own {name} of {OWN_LIMITS[name]} and was "
                            "cancelled, rolling back its transaction: run again when the target "
                            "is less busy")
    return DatabaseBusy(f"the tool waited longer than its own {name} of {OWN_LIMITS[name]} "
                        f"inside a transaction on the target database {dbname}, which ended "
                        "its session and rolled the transaction back: run again")


def idle_cause(conninfo: str, url: str, role: str) -> str:
    """For a lost connection (the server often closes an idle session before its reason
    reaches the tool): the `role` server's idle_in_transaction_session_timeout, when it is on
    (and shorter than the tool's own), as the likely cause, and how to lift it."""
    limit = _server_limit(conninfo, role, IDLE_TIMEOUT)
    if limit is None or not limit[3]:
        return ""
    user, dbname, value, _ = limit
    return (f". The {role} database {dbname} most likely ended the session at its "
            f"{IDLE_TIMEOUT} of {value} for role {user}: "
            f"{_lift(url, role, user, dbname, IDLE_TIMEOUT)} before running again")


class PinnedConnection(psycopg.Connection):
    """A connection whose every transaction starts with pin_output_settings.sql: a role or
    database setting (ALTER ROLE ... SET DateStyle = 'SQL, DMY', extra_float_digits = 0)
    must neither break psycopg's parsing of dates nor make the ledger's images lossy."""

    @contextmanager
    def transaction(self, savepoint_name: str | None = None, force_rollback: bool = False,
                    snapshot: str | None = None) -> Iterator[psycopg.Transaction]:
        """A transaction (or a savepoint); an outermost one may first import `snapshot`, a
        snapshot another transaction exported, since that must precede any query."""
        outermost = self.info.transaction_status == pq.TransactionStatus.IDLE
        with super().transaction(savepoint_name, force_rollback) as tx:
            if outermost:
                if snapshot is not None:
                    self.execute(sql.SQL(load_sql("set_transaction_snapshot")).format(
                        snapshot=sql.Literal(snapshot)))
                self.execute(load_sql("pin_output_settings"))
            yield tx


@contextmanager
def connect(url: str, role: str, lock_timeout: str | None = None,
            **kwargs) -> Iterator[psycopg.Connection]:
    """A connection to the `role` database ("source" or "target"), closed on exit; connecting
    takes at most CONNECT_TIMEOUT seconds, or `lock_timeout` if that is shorter.

    No prepared statements, so it also works through a transaction pooler (Supabase's 6543);
    every transaction pins the output settings (PinnedConnection).
    A connection lost while in use becomes a MigrationError that says whether the tool's
    transaction committed.
    """
    if not url:
        raise MigrationError(f"no URL for the {role} database: set its environment variable")
    given = read_url(url, role)
    bound = seconds(lock_timeout or "") or CONNECT_TIMEOUT
    conninfo = make_conninfo(url, application_name=APPLICATION_NAME,
                             connect_timeout=min(CONNECT_TIMEOUT, math.ceil(bound)),
                             **{k: v for k, v in CLIENT_DEFAULTS.items() if k not in given})
    try:
        conn = PinnedConnection.connect(conninfo, prepare_threshold=None, **kwargs)
    except psycopg.OperationalError as exc:
        raise MigrationError(
            f"cannot connect to the {role} database {redact(url)}: {_reason(exc, url)}"
        ) from None
    try:
        yield conn
    except psycopg.Error as exc:
        setting = setting_error(conninfo, url, role, conn, exc)
        if setting is not None:
            raise setting from None
        if isinstance(exc, psycopg.OperationalError) and conn.broken:
            lost = connection_lost(conninfo, url, role, exc, _transactions.get(conn))
            raise MigrationError(f"{lost}{idle_cause(conninfo, url, role)}") from None
        raise without_row_data(exc, url) from None
    finally:
        conn.close()


def without_row_data(exc: psycopg.Error, url: str) -> psycopg.Error:
    """The same error with PostgreSQL's primary message only: its DETAIL ("Failing row
    contains (...)", "Key (email)=(...)") quotes row data, which must not reach the operator's
    screen nor Dagster's event log."""
    text = str(exc).strip()
    primary = exc.diag.message_primary or (text.splitlines()[0] if text else type(exc).__name__)
    clean = type(exc)(scrub(primary, url))
    clean.sqlstate = exc.sqlstate
    return clean
