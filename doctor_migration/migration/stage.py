"""The stage: the rows of a command live in the target's doctor_migration schema, as tables an
operator can query (create_stage.sql), never in Python or under DAGSTER_HOME.

Each command keys its rows by its stage id (the Dagster run id) and registers it in
doctor_migration.stages as a run or a plan. Its first step replaces the stage of the previous
command of the same kind, finished or killed, so the stage holds the latest run and the latest
plan; a run and a plan at the same moment never read each other's rows. Every later step holds
its stage row (FOR SHARE) while it works, and stops, naming the newer command, if its stage was
replaced meanwhile. Each step opens its own connections: any executor, one process per step
included, runs the job.

The source rows travel source -> target as COPY text, block by block: step 1.1 on one
connection, the accounting of every source user on a second one that imports the first one's
exported snapshot, in parallel. The source is only read (SELECT, no temp table).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import sql

from doctor_migration.migration import locks, seal, target
from doctor_migration.migration.db import load_sql, seconds, waiting_at_most
from doctor_migration.migration.errors import DatabaseBusy, MigrationError
from doctor_migration.migration.ledger import doctor_columns
from doctor_migration.migration.mapping import MAPPED_COLUMNS
from doctor_migration.migration.preflight import SOURCE_COLUMNS
from doctor_migration.names import OUTCOME_PARAMETERS

SCHEMA = "doctor_migration"
REGISTRY = target.STAGE_REGISTRY
# The asset tables (and the accounting beside clean_doctors), in the order a command fills them.
TABLES = target.STAGE_TABLES
# Supabase's roles that reach the database through its Data API: never a grant on the stage.
API_ROLES = ["anon", "authenticated", "service_role"]
# pg_advisory_xact_lock key that serializes creating the stage and replacing stages ("DMIS").
STAGE_LOCK_KEY = 0x444D4953
# The columns of each stage table whose statistics the plans of the steps after it need: the
# stage id, which every statement filters on, and the keys they join on. Without them the
# planner takes a new stage for a handful of rows and joins it in nested loops; statistics of
# the other columns (names, e-mails, the mapped values) would only cost the ANALYZE time.
# doctor_rows needs none: it is only scanned.
PLANNED_COLUMNS = {
    "profile_coverage": ("run_id", "legacy_user_id"),
    "clean_doctors": ("run_id", "user_id"),
    "source_users": ("run_id", "user_id", "duplicate_of", "outcome"),
}
# COPY data is passed on to the target in blocks of about this many bytes.
BLOCK_BYTES = 256 * 1024
# The locks the source read waits for: a reader is kept out only by an ACCESS EXCLUSIVE lock.
SOURCE_READ = dict.fromkeys(SOURCE_COLUMNS, "AccessShareLock")
PROFILES_READ = {"public.profiles": "AccessShareLock"}
NOTHING_CHANGED = "nothing was changed"

Connect = Callable[..., AbstractContextManager[psycopg.Connection]]
T = TypeVar("T")


class StageGone(DatabaseBusy):
    """A newer command of the same kind replaced this command's stage: run again."""


def table(name: str) -> sql.Identifier:
    """A stage table, qualified."""
    return sql.Identifier(SCHEMA, name)


def table_name(name: str) -> str:
    """A stage table's qualified name, as an operator types it."""
    return f"{SCHEMA}.{name}"


def _newest(conn: psycopg.Connection, command: str, stage_id: str) -> str | None:
    """The newest other stage of the kind, as "plan <id> (started ... by <user>)"."""
    try:
        with conn.transaction():
            newest = conn.execute(load_sql("select_stage_replacement"),
                                  {"command": command, "run_id": stage_id}).fetchone()
    except psycopg.Error:
        return None
    if newest is None:
        return None
    run_id, started, user = newest
    return f"{command} {run_id} (started {started:%Y-%m-%d %H:%M:%S %Z} by {user})"


def _replaced(conn: psycopg.Connection, stage_id: str, command: str, outcome: str) -> StageGone:
    newest = _newest(conn, command, stage_id)
    who = f"{newest} replaced it" if newest else "it was dropped"
    return StageGone(f"the stage of {command} {stage_id} is gone: {who}; {outcome}: "
                     "run again once no other command of the kind is running")


class StageInUse(DatabaseBusy):
    """Another Dagster run (a re-execution of the same run, say) is using the same stage."""


@dataclass(frozen=True)
class Claim:
    """The Dagster run a step belongs to, and how to ask whether another run is still going
    (its status, or None once it has ended): a stage is used by one run at a time."""

    run_id: str
    running: Callable[[str], str | None]


def _claim(conn: psycopg.Connection, stage_id: str, command: str, used_by: str | None,
           claim: Claim, outcome: str) -> None:
    """Make `claim`'s run the stage's user, unless the run using it now is still going, or
    another run is taking it at this moment (its step holds the stage too: the two claims
    would wait for each other, and PostgreSQL ends one of them)."""
    if used_by == claim.run_id:
        return
    status = claim.running(used_by) if used_by else None
    again = "end (or terminate it in the Dagster UI), then launch again"
    if status is not None:
        raise StageInUse(
            f"the stage of {command} {stage_id} is in use by run {used_by} ({status}): two "
            f"runs may not use one stage at once (two re-executions of one run, say); "
            f"{outcome}: let run {used_by} {again}")
    try:
        with conn.transaction():
            conn.execute(load_sql("claim_stage"), {"run_id": stage_id, "used_by": claim.run_id})
    except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
        raise StageInUse(
            f"another run is taking the stage of {command} {stage_id} at this moment: two runs "
            f"may not use one stage at once (two re-executions of one run, say); {outcome}: let "
            f"it {again}") from None


def hold(conn: psycopg.Connection, stage_id: str, command: str,
         outcome: str = NOTHING_CHANGED, claim: Claim | None = None) -> None:
    """Keep this command's stage from being replaced until the transaction ends; with `claim`,
    refuse if another run that is still going uses it, else take it for this run."""
    try:
        with conn.transaction():
            held = conn.execute(load_sql("lock_stage"), {"run_id": stage_id}).fetchone()
    except psycopg.errors.UndefinedTable:
        held = None
    if held is None:
        raise _replaced(conn, stage_id, command, outcome)
    if claim is not None:
        _claim(conn, stage_id, command, held[1], claim, outcome)


@contextmanager
def transaction(conn: psycopg.Connection, stage_id: str, command: str,
                timeouts: target.Timeouts, wanted: dict[str, str] | None = None,
                outcome: str = NOTHING_CHANGED, *, claim: Claim | None = None,
                repeatable_read: bool = False) -> Iterator[None]:
    """A transaction of the command on the target that reads or writes its stage: the tool's
    settings, the stage held (and with `claim`, taken for the step's run); a lock wait on
    `wanted` tables names the sessions in the way. repeatable_read: every statement sees one
    snapshot, so that what a step checks and what it seals are the same rows."""
    if repeatable_read:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with locks.naming_blockers(conn, "target", wanted or {}, timeouts.lock_timeout,
                                   outcome), conn.transaction():
            target.configure(conn, command, stage_id, timeouts)
            hold(conn, stage_id, command, outcome, claim)
            yield
    except psycopg.errors.SerializationFailure:
        raise seal.StageChanged(
            f"another session changed the stage of {command} {stage_id} while this step "
            f"worked in it; {outcome}: run the migration again") from None
    finally:
        # Back to the server's default for the connection's next transactions (not on a
        # connection that was lost or interrupted mid-statement: it is closed next).
        if repeatable_read and not conn.broken \
                and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
            conn.isolation_level = None


def _create(conn: psycopg.Connection) -> None:
    """The schema and the stage's tables, when one is missing; then, every command, no grant
    on them or on the ledger but the tool's role's and their owners'."""
    names = [REGISTRY, *TABLES]
    found = {r[0] for r in conn.execute(load_sql("select_stage_tables"), {"tables": names})}
    if not found >= set(names):
        _create_tables(conn)
    target.revoke_extra_grants(conn)


def _create_tables(conn: psycopg.Connection) -> None:
    """The schema and the stage's tables; the API roles kept out of the schema."""
    try:
        with conn.transaction():
            conn.execute(load_sql("create_tool_schema"))
            conn.execute(load_sql("create_stage"))
            roles = [r[0] for r in conn.execute(load_sql("select_api_roles"),
                                                {"roles": API_ROLES})]
            if roles:
                conn.execute(sql.SQL(load_sql("revoke_stage_schema")).format(
                    grantees=sql.SQL(", ").join(map(sql.Identifier, roles))))
    except psycopg.errors.InsufficientPrivilege as exc:
        user = conn.info.user
        raise MigrationError(
            f"the target role {user} may not create the stage ({exc.diag.message_primary}): "
            f"GRANT CREATE ON DATABASE {conn.info.dbname} TO {user}, or have an owner create "
            "schema doctor_migration and grant it to this role; nothing was changed") from None


def start(conn: psycopg.Connection, stage_id: str, command: str,
          timeouts: target.Timeouts, claim: Claim | None = None) -> None:
    """The command's first step: its stage registered and taken for `claim`'s run, the
    previous stage of its kind (and any rows of an earlier attempt of this one) deleted, phase
    1's doctor profiles copied in. A command of the same kind that is working in its stage right
    now, or another run still using this stage, makes this one refuse at once, naming it."""
    params = {"command": command, "run_id": stage_id}
    with locks.naming_blockers(conn, "target", PROFILES_READ, timeouts.lock_timeout), \
            conn.transaction():
        target.configure(conn, command, stage_id, timeouts)
        conn.execute(load_sql("lock_stage_creation"), {"key": STAGE_LOCK_KEY})
        _create(conn)
        if not conn.execute(load_sql("select_stage_claim_column")).fetchone()[0]:
            conn.execute(load_sql("add_stage_claim_column"))
        try:
            with conn.transaction():
                conn.execute(load_sql("lock_replaced_stages"), params)
        except psycopg.errors.LockNotAvailable:
            raise target.running(conn.execute(load_sql("select_stage_holder"), params)
                                 .fetchone()) from None
        gone = [r[0] for r in conn.execute(load_sql("delete_replaced_stages"), params)]
        conn.execute(load_sql("insert_stage"),
                     {**params, "used_by": claim.run_id if claim else stage_id})
        hold(conn, stage_id, command, claim=claim)
        for name in TABLES:
            conn.execute(sql.SQL(load_sql("delete_stage_rows")).format(table=table(name)),
                         {"run_ids": [*gone, stage_id]})
        conn.execute(load_sql("insert_profile_coverage"), {"run_id": stage_id})
        analyze(conn, "profile_coverage")


def profile_coverage_summary(conn: psycopg.Connection, stage_id: str) -> tuple[int, int, list]:
    """(doctor profiles, legacy users with one, legacy ids with several) of the stage."""
    profiles, users, several = conn.execute(load_sql("select_profile_coverage_summary"),
                                            {"run_id": stage_id}).fetchone()
    return profiles, users, list(several or [])


class _SourceLockTimeout(Exception):
    """A lock wait of the source read hit the lock timeout (named once it is rolled back)."""


_PROBLEMS = {
    psycopg.errors.UndefinedTable: "lacks a table the plan needs",
    psycopg.errors.UndefinedColumn: "lacks a column the plan needs",
    psycopg.errors.InsufficientPrivilege: "role may not read what the plan needs",
}


@contextmanager
def _problems(role: str) -> Iterator[None]:
    """A missing table, column or grant as one sentence naming the database."""
    try:
        yield
    except tuple(_PROBLEMS) as exc:
        if role == "target" and isinstance(exc, psycopg.errors.InsufficientPrivilege):
            raise MigrationError(f"the target role may not write the stage: "
                                 f"{exc.diag.message_primary}; {NOTHING_CHANGED}") from None
        raise MigrationError(f"the {role} database {_PROBLEMS[type(exc)]}: "
                             f"{exc.diag.message_primary}") from None
    except psycopg.errors.LockNotAvailable:
        if role == "source":
            raise _SourceLockTimeout from None
        raise


def _step_1_1() -> str:
    """The plan's step 1.1, as written in select_clean_doctors.sql, without its final `;`."""
    return load_sql("select_clean_doctors").rstrip().removesuffix(";")


def _pipe(src: psycopg.Connection, tgt: psycopg.Connection, stage_id: str, command: str,
          timeouts: target.Timeouts, query: sql.Composable, params: dict[str, Any] | None,
          name: str) -> None:
    """`query` on the source, COPYed into the stage table `name`, in one target transaction."""
    copy_out = sql.SQL(load_sql("copy_out")).format(query=query)
    copy_in = load_sql(f"copy_{name}_in")
    with transaction(tgt, stage_id, command, timeouts), ExitStack() as stack:
        tgt.execute(load_sql("set_stage_id"), {"run_id": stage_id})
        tgt.execute(sql.SQL(load_sql("delete_stage_rows")).format(table=table(name)),
                    {"run_ids": [stage_id]})
        with _problems("target"):
            into = stack.enter_context(tgt.cursor().copy(copy_in))
        with _problems("source"):
            out = stack.enter_context(src.cursor().copy(copy_out, params))
        block = bytearray()
        for data in out:
            block += data
            if len(block) >= BLOCK_BYTES:
                into.write(block)
                block = bytearray()
        if block:
            into.write(block)
    with transaction(tgt, stage_id, command, timeouts):
        analyze(tgt, name)


def _no_session(lock_timeout: str, second: bool) -> DatabaseBusy:
    """The error for a source session that got no server connection within the lock timeout."""
    if second:
        return DatabaseBusy(
            "the source reads on two sessions sharing one snapshot, and its pooler did not give "
            f"the second session a server connection within {lock_timeout}; {NOTHING_CHANGED}: "
            "use the session pooler (Supabase: port 5432) or a direct connection for the "
            "source, or raise the pool size")
    return DatabaseBusy(
        f"the source did not give the tool a session within {lock_timeout} (a pooler with "
        f"every server connection in use keeps it waiting); {NOTHING_CHANGED}, run again")


@contextmanager
def source_transaction(src: psycopg.Connection, lock_timeout: str,
                        snapshot: str | None = None) -> Iterator[None]:
    """The source's READ ONLY, REPEATABLE READ transaction (importing `snapshot`), in UTC.
    Its start, where a pooler keeps it waiting for a server connection, lasts at most the
    lock timeout."""
    src.read_only = True
    src.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with ExitStack() as stack:
            try:
                with waiting_at_most(src, seconds(lock_timeout)) as expired:
                    stack.enter_context(src.transaction(snapshot=snapshot))
                    locks.set_lock_timeout(src, lock_timeout)
                    src.execute(load_sql("set_source_time_zone"))
            except psycopg.OperationalError:
                if not expired.is_set():
                    raise
            if expired.is_set():
                raise _no_session(lock_timeout, snapshot is not None)
            yield
    except _SourceLockTimeout:
        raise locks.busy(src, "source", SOURCE_READ, lock_timeout) from None


def _stage_outcomes(source: Connect, target_: Connect, stage_id: str, command: str,
                    timeouts: target.Timeouts, snapshot: str, imported: threading.Event) -> None:
    """The accounting of every source user, in the snapshot of the step 1.1 read."""
    try:
        # The source's connection inside the target's, as in stage_source.
        with target_() as tgt, source(lock_timeout=timeouts.lock_timeout) as src:
            with source_transaction(src, timeouts.lock_timeout, snapshot):
                imported.set()
                _pipe(src, tgt, stage_id, command, timeouts,
                      sql.SQL(load_sql("select_user_outcomes").rstrip().removesuffix(";")),
                      {**OUTCOME_PARAMETERS, "user_id": None}, "source_users")
    finally:
        imported.set()


def stage_source(source: Connect, target_: Connect, stage_id: str, command: str,
                 timeouts: target.Timeouts, staged: Callable[[], T] | None = None) -> T | None:
    """Step 1.1 (clean_doctors) and every source user's outcome (source_users), from one
    READ ONLY, REPEATABLE READ snapshot of the source, into the command's stage. `source` takes
    the lock timeout, which bounds every wait for a source connection or session.
    `staged` runs as soon as clean_doctors and its statistics are committed, while the
    accounting may still be on its way (the gates need only clean_doctors and
    profile_coverage); its result is returned once the accounting is staged too."""
    imported = threading.Event()
    # The source's connection inside the target's: an error of the source's passes its
    # db.connect first, which names a setting of the source's that caused it (db.setting_error).
    with ThreadPoolExecutor(max_workers=1) as pool:
        with target_() as tgt, source(lock_timeout=timeouts.lock_timeout) as src, \
                source_transaction(src, timeouts.lock_timeout):
            snapshot = src.execute(load_sql("export_snapshot")).fetchone()[0]
            accounting = pool.submit(_stage_outcomes, source, target_, stage_id, command,
                                     timeouts, snapshot, imported)
            try:
                _pipe(src, tgt, stage_id, command, timeouts, sql.SQL(_step_1_1()), None,
                      "clean_doctors")
            finally:
                # The exported snapshot lives as long as this transaction: keep it until the
                # accounting's connection has imported it (or failed, at the latest after the
                # lock timeout).
                imported.wait()
        done = staged() if staged else None
        accounting.result()  # the accounting's own error, if it failed
    return done


def analyze(conn: psycopg.Connection, name: str) -> None:
    """Statistics for the stage table `name`, just filled: of its PLANNED_COLUMNS."""
    conn.execute(sql.SQL(load_sql("analyze_stage_table")).format(
        table=table(name),
        columns=sql.SQL(", ").join(map(sql.Identifier, PLANNED_COLUMNS[name]))))


def map_doctor_rows(conn: psycopg.Connection, stage_id: str, checked: list[seal.Seal],
                    sealed_by: str) -> tuple[int, seal.Seal]:
    """Steps 2.2 and 2.3 in SQL: doctor_rows from clean_doctors and profile_coverage, once
    their seals (`checked`, what the gates passed) hold; the rows and doctor_rows' own seal.
    Call it in a repeatable-read transaction (transaction(repeatable_read=True))."""
    for sealed in checked:
        seal.verify(conn, sealed, stage_id)
    conn.execute(sql.SQL(load_sql("delete_stage_rows")).format(table=table("doctor_rows")),
                 {"run_ids": [stage_id]})
    rows = conn.execute(load_sql("insert_doctor_rows"), {"run_id": stage_id}).rowcount
    return rows, seal.take(conn, "doctor_rows", stage_id, sealed_by)


def stage_doctor_rows(conn: psycopg.Connection, stage_id: str,
                      sealed: seal.Seal | None = None) -> int:
    """The command's doctor_rows in pg_temp.doctor_stage, typed like public.doctors (dropped at
    the end of the transaction): what the load merges and the reconciliation compares. Given
    the doctor_rows step's seal, the rows are verified against it in the statement that copies
    them, so what is staged is what was sealed, whatever another session does meanwhile.
    Returns how many rows (the clean doctors)."""
    conn.execute(load_sql("create_doctor_stage"))
    types = {c.name: c for c in doctor_columns(conn)}
    values = sql.SQL(", ").join(
        sql.SQL("CAST({} AS {})").format(
            sql.Identifier("s", name),
            sql.Identifier(types[name].type_schema, types[name].type_name))
        for name in MAPPED_COLUMNS)
    rows, digest = conn.execute(
        sql.SQL(load_sql("fill_doctor_stage")).format(values=values,
                                                      seal=seal.query("doctor_rows")),
        {"run_id": stage_id}).fetchone()
    if sealed is not None:
        seal.verify(conn, sealed, stage_id, (rows, digest))
    return rows
