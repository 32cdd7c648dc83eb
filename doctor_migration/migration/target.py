"""What every transaction of the tool on the target starts with: settings, the one-at-a-time
lock, a lock on doctors that names whoever blocks it, and the ledger's schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from doctor_migration.migration import db, locks
from doctor_migration.migration.db import APPLICATION_NAME, load_sql
from doctor_migration.migration.errors import DatabaseBusy, MigrationError
from doctor_migration.names import IDLE_TIMEOUT, LOCK_TIMEOUT, STATEMENT_TIMEOUT

# What a plan that did not complete left on the target.
PLAN_WROTE_NOTHING = "nothing was written to the target (a plan never writes)."
# pg_try_advisory_xact_lock key shared by loads and rollbacks ("DMIG").
MIGRATION_LOCK_KEY = 0x444D4947

# The target's tables each command waits for, with the lock mode it asks for (to name only the
# sessions whose locks conflict with it).
DOCTORS_LOCK = {"public.doctors": "ShareRowExclusiveLock"}
LEDGER_READ = {"doctor_migration.runs": "AccessShareLock",
               "doctor_migration.row_changes": "AccessShareLock"}
LOAD_TABLES = {**DOCTORS_LOCK, "doctor_migration.runs": "RowExclusiveLock",
               "doctor_migration.row_changes": "RowExclusiveLock"}
# The stage's registry, then its tables in the order a command fills them (create_stage.sql).
STAGE_REGISTRY = "stages"
STAGE_TABLES = ("profile_coverage", "clean_doctors", "source_users", "doctor_rows")
# The ledger's tables, and every table of the tool in schema doctor_migration.
LEDGER_TABLES = ("runs", "row_changes", "run_digests")
TOOL_TABLES = (STAGE_REGISTRY, *STAGE_TABLES, *LEDGER_TABLES)
ROLLBACK_TABLES = {**DOCTORS_LOCK, "doctor_migration.runs": "RowExclusiveLock",
                   "doctor_migration.row_changes": "AccessShareLock"}


@dataclass(frozen=True)
class Timeouts:
    """Limits of the tool's transactions on the target."""

    lock_timeout: str = LOCK_TIMEOUT
    statement_timeout: str = STATEMENT_TIMEOUT
    idle_timeout: str = IDLE_TIMEOUT


def configure(conn: psycopg.Connection, what: str, run_id: str, timeouts: Timeouts) -> str:
    """The settings of every transaction of the tool on the target (set_transaction_settings.sql:
    bounded waits, built-ins before public, UTC); its application_name, which names the command."""
    application_name = f"{APPLICATION_NAME} {what} {run_id}"[:63]
    try:
        conn.execute(load_sql("set_transaction_settings"), {
            "application_name": application_name,
            "lock_timeout": timeouts.lock_timeout,
            "statement_timeout": timeouts.statement_timeout,
            "idle_timeout": timeouts.idle_timeout,
        })
    except psycopg.errors.InvalidParameterValue as exc:
        raise MigrationError(
            f"{exc.diag.message_primary}: give durations as PostgreSQL writes them, "
            "e.g. 30s, 2min, 500ms; nothing was changed") from None
    return application_name


def begin(conn: psycopg.Connection, what: str, run_id: str, timeouts: Timeouts) -> None:
    """Settings, then the advisory lock: a second migration or rollback refuses at once.

    The transaction's id is remembered (db.track), so that if the connection is lost the
    operator is told whether it committed.
    """
    application_name = configure(conn, what, run_id, timeouts)
    xid, pid = conn.execute(load_sql("select_transaction_id")).fetchone()
    db.track(conn, db.Transaction(xid=xid, pid=pid, application_name=application_name,
                                  what=what, run_id=run_id, lock_timeout=timeouts.lock_timeout))
    if conn.execute(load_sql("try_migration_lock"), {"key": MIGRATION_LOCK_KEY}).fetchone()[0]:
        return
    holder = conn.execute(load_sql("select_migration_lock_holder"),
                          {"key": MIGRATION_LOCK_KEY}).fetchone()
    raise running(holder)


def running(holder: tuple | None) -> DatabaseBusy:
    """Another command of the tool holds the target: (pid, application, user, since) of its
    session, or None when it has gone since."""
    if holder:
        pid, application, user, since = holder
        when = f"{since:%Y-%m-%d %H:%M:%S %Z}" if since else "a time this role may not see"
        who = f"{application} (pid {pid}, user {user}, since {when})"
    else:
        who = "a session that has since gone"
    return DatabaseBusy(
        f"another migration or rollback is running on the target: {who}; nothing was changed, "
        "wait for it to finish, then run again"
    )


def lock_doctors(conn: psycopg.Connection, lock_timeout: str) -> None:
    """Lock public.doctors against writers; after lock_timeout, name the sessions in the way."""
    with locks.naming_blockers(conn, "target", DOCTORS_LOCK, lock_timeout), conn.transaction():
        conn.execute(load_sql("lock_doctors"))


@contextmanager
def ledger_transaction(conn: psycopg.Connection, lock_timeout: str) -> Iterator[None]:
    """A transaction that reads the ledger, waiting at most lock_timeout for its tables."""
    with locks.bounded_transaction(conn, "target", LEDGER_READ, lock_timeout):
        yield


def extra_grants(conn: psycopg.Connection, tables: tuple[str, ...] = TOOL_TABLES) -> list[tuple]:
    """(table, owner, may_revoke, grantees, grantees as a sentence shows them) for each of the
    tool's `tables` on which a role other than the tool's, the table's owner and the schema's
    owner holds a privilege; a None grantee is PUBLIC. may_revoke: the tool's role has the
    owner's privileges."""
    return conn.execute(load_sql("select_extra_table_grants"), {"tables": list(tables)}).fetchall()


def revoke_extra_grants(conn: psycopg.Connection, tables: tuple[str, ...] = TOOL_TABLES) -> None:
    """No grant on the tool's `tables` but its own role's and their owners': the stage holds
    names and e-mails, and default privileges (or a GRANT by hand) may have given them to any
    role. A table the tool's role does not own is left as it is (the preflight warns)."""
    for table, _, may_revoke, grantees, _ in extra_grants(conn, tables):
        if may_revoke:
            conn.execute(sql.SQL(load_sql("revoke_table_grants")).format(
                table=sql.Identifier("doctor_migration", table),
                grantees=sql.SQL(", ").join(sql.SQL("PUBLIC") if g is None else sql.Identifier(g)
                                            for g in grantees)))


# What a ledger made by an older version lacks (upgrade_ledger.sql adds it).
LEDGER_ADDITIONS = {("runs", "ledger_format"), ("runs", "stage_id"), ("runs", "digest_columns"),
                    ("row_changes", "after_digest"), ("run_digests", "digest")}


def ledger_is_current(conn: psycopg.Connection) -> bool:
    """The ledger has every table and column this version writes."""
    found = {(table, column)
             for table, column, _ in conn.execute(load_sql("select_ledger_columns"))}
    return LEDGER_ADDITIONS <= found


def ensure_ledger(conn: psycopg.Connection) -> None:
    """Create the doctor_migration schema and its tables on first use, with no grant but the
    tool's; upgrade a ledger made by an older version (its runs without ledger_format are
    format 1)."""
    exists = conn.execute(load_sql("select_ledger_exists")).fetchone()[0]
    if exists and ledger_is_current(conn):
        return
    try:
        with conn.transaction():
            if not exists:
                conn.execute(load_sql("create_tool_schema"))
            conn.execute(load_sql("upgrade_ledger" if exists else "create_ledger"))
            revoke_extra_grants(conn, LEDGER_TABLES)
    except psycopg.errors.InsufficientPrivilege as exc:
        user = conn.info.user
        if exists:
            raise MigrationError(
                f"the target role {user} may not add the columns this version needs to the run "
                f"ledger made by an older version ({exc.diag.message_primary}): have its owner run "
                f"{load_sql('upgrade_ledger').splitlines()[-1]}") from None
        raise MigrationError(
            f"the target role {user} may not create the run ledger ({exc.diag.message_primary}): "
            f"GRANT CREATE ON DATABASE {conn.info.dbname} TO {user}, or have an owner create "
            "schema doctor_migration and grant it to this role"
        ) from None


def referencing_rows(conn: psycopg.Connection, doctor_ids: str,
                     params: dict | None = None) -> list[str]:
    """Each table and doctors row that another table's foreign key points at, among the
    doctors rows the statement `doctor_ids` (a sql/ file, bound with `params`) selects. The
    ids stay in the database, however many rows a run wrote."""
    ids = sql.SQL(load_sql(doctor_ids).strip().removesuffix(";"))
    found = []
    for _, schema, table, columns, referenced in conn.execute(
            load_sql("select_doctor_foreign_keys")).fetchall():
        query = sql.SQL(load_sql("select_doctor_references")).format(
            table=sql.Identifier(schema, table),
            referencing=sql.SQL(", ").join(sql.Identifier("t", c) for c in columns),
            referenced=sql.SQL(", ").join(sql.Identifier("d", c) for c in referenced),
            doctor_ids=ids,
        )
        for doctor_id, legacy_id, n in conn.execute(query, params or {}):
            found.append(
                f"{schema}.{table} has {n} row(s) referencing doctors row {doctor_id} "
                f"(legacy user {legacy_id})"
            )
    return found


def ledger_says(url: str, run_id: str,
                lock_timeout: str = LOCK_TIMEOUT) -> tuple[bool | None, str]:
    """Whether the load of run `run_id` committed on the target (the ledger knows it), asked
    again while the target cannot be reached, for up to lock_timeout. None when it cannot
    tell, with the clause naming the session that kept the ledger locked, if one did."""
    def ask() -> bool | None:
        try:
            with db.connect(url, "target") as conn, ledger_transaction(conn, lock_timeout):
                if not conn.execute(load_sql("select_ledger_exists")).fetchone()[0]:
                    return False
                return conn.execute(load_sql("select_run_committed"),
                                    {"run_id": run_id}).fetchone()[0]
        except DatabaseBusy:
            raise  # it waited lock_timeout already
        except MigrationError:
            return None  # not reached, or lost: ask again

    try:
        return db.patiently(ask, lock_timeout), ""
    except DatabaseBusy as exc:
        return None, exc.cause
    except psycopg.Error:
        return None, ""


def written(run_id: str, committed: bool | None, why: str = "") -> str:
    """For a run that did not complete: one sentence on the state of the target, from whether
    its load committed (None: the target could not tell, `why` if it says)."""
    if committed:
        return ("its load did commit: the doctors are migrated and recorded in the ledger "
                f"(`doctor-migration history`); undo it with `doctor-migration rollback {run_id}`.")
    if committed is None:
        return ("the target could not be asked whether its load committed"
                + (f" ({why})" if why else "")
                + f": `doctor-migration history` lists run {run_id} if it did.")
    return "nothing was written to the target."
