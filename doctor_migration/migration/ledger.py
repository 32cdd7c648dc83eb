"""The run ledger: history of runs, and an exact undo of any of them.

The plan's rollback (DELETE FROM doctors WHERE updated_at >= ...) would delete doctors the
migration did not create, forget what it updated or deleted, and break every table that
references doctors.id. This one restores, in one transaction, the state before the run
from the before-images the run recorded, and refuses when that would lose someone's work.

An image maps each column to its text output, taken with the output settings pinned
(db.PinnedConnection), and is written back by casting that text to the column's type: the
only round trip that is exact for every type (to_jsonb rewrites json, and float8 under
extra_float_digits = 0). Columns the target's own triggers rewrite whenever a row is written
(updated_at, a version counter) cannot be restored by any write: the rollback learns them by
writing one row back to itself in a savepoint it undoes, leaves them out of its checks, and
names them.

A row a run inserted is never written back, only removed, and only while it is exactly as the
run left it: for it the ledger keeps a digest (the md5 of the same text outputs) rather than
an image, a 32-character text in place of the whole row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import psycopg
from psycopg import sql

from doctor_migration.migration import target
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError, os_user
from doctor_migration.migration.mapping import MAPPED_COLUMNS
from doctor_migration.names import LOCK_TIMEOUT, SHOWN

# ledger_format of the runs this version writes (see create_ledger.sql). In format 2 a row a run
# inserted has either an after-image (the versions before digests) or an after_digest.
LEDGER_FORMAT = 2
# What the ledger's tables must hold (format_type names); more columns are fine.
LEDGER_COLUMNS = {
    "runs": {"run_id": "text", "started_at": "timestamp with time zone",
             "finished_at": "timestamp with time zone", "expected_count": "integer",
             "clean_count": "integer", "inserted": "integer", "updated": "integer",
             "deleted": "integer", "unchanged": "integer", "db_user": "text", "os_user": "text",
             "tool_version": "text", "rolled_back_at": "timestamp with time zone",
             "rolled_back_by": "text"},
    "row_changes": {"run_id": "text", "doctor_id": "uuid", "legacy_user_id": "bigint",
                    "action": "text", "changed_columns": "text[]", "before": "jsonb",
                    "after": "jsonb"},
}

# What a run did to a doctors row, as a sentence says it (row_changes.action).
DONE = {"insert": "inserted", "update": "updated", "delete": "deleted"}


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
    def changed_nothing(self) -> bool:
        """The run inserted, updated and deleted no doctor: there is nothing to undo."""
        return self.inserted == self.updated == self.deleted == 0

    @property
    def state(self) -> str:
        if self.rolled_back_at is not None:
            return (f"rolled back {self.rolled_back_at:%Y-%m-%d %H:%M:%S %Z} "
                    f"by {self.rolled_back_by}")
        return "changed nothing" if self.changed_nothing else "applied"


@dataclass(frozen=True)
class LastRun:
    """The run an undo without a run id picks, and the newer runs it passes over."""

    run_id: str
    started_at: datetime
    newer_unchanging: int  # changed nothing: nothing to undo
    newer_rolled_back: int

    @property
    def described(self) -> str:
        """Which run, and why this one: "run X (started ..., the newest run ...)"."""
        passed = [f"{n} newer {'run' if n == 1 else 'runs'} {what}" for n, what in (
            (self.newer_unchanging, "changed nothing"),
            (self.newer_rolled_back, "already rolled back")) if n]
        return (f"run {self.run_id} (started "
                f"{self.started_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC, the newest "
                "run that changed doctors and is not rolled back"
                + "".join(f"; {clause}" for clause in passed) + ")")


def nothing_to_undo(run_id: str) -> str:
    """What a rollback of a run that changed nothing says: it writes nothing."""
    return (f"Nothing to undo: run {run_id} inserted, updated and deleted no doctor; "
            "nothing was changed")


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback restored."""

    run_id: str
    removed: int
    restored: int
    recreated: int
    seconds: float
    doctors: int | None = None  # rows in public.doctors after the rollback
    rewritten: list[str] = field(default_factory=list)  # the target's triggers rewrite them
    added: list[str] = field(default_factory=list)  # columns added to doctors since the run
    dropped: list[str] = field(default_factory=list)  # columns dropped since the run

    @property
    def changed_nothing(self) -> bool:
        """The run had nothing to undo, and nothing was written."""
        return self.removed == self.restored == self.recreated == 0

    @property
    def counts(self) -> str:
        return (f"{self.removed} inserted rows removed, {self.restored} updated rows restored, "
                f"{self.recreated} deleted rows recreated")

    @property
    def caveats(self) -> str:
        """What the rollback could not put back as it was, as clauses of one sentence."""
        parts = []
        if self.rewritten:
            parts.append("except columns the target's own triggers rewrite when a row is "
                         "written: " + ", ".join(self.rewritten))
        for name in self.added:
            parts.append(f"column {name} was added after the run: restored rows keep its "
                         "value, recreated rows get its default")
        for name in self.dropped:
            parts.append(f"column {name} was dropped after the run: its old values are only "
                         "in the ledger")
        return "; ".join(parts)


@dataclass(frozen=True)
class Column:
    """A column of public.doctors, as writing it back from its text output needs it."""

    name: str
    type_schema: str
    type_name: str
    generated: bool
    identity_always: bool


def doctor_columns(conn: psycopg.Connection) -> list[Column]:
    """Every column of public.doctors, in table order."""
    return [Column(*row) for row in conn.execute(load_sql("select_doctor_column_types"))]


def image(columns: list[Column], alias: str) -> sql.Composable:
    """A jsonb object of row `alias`: each column's text output (or null)."""
    # jsonb_object over two arrays, not jsonb_build_object: no 100-argument limit.
    return sql.SQL("jsonb_object(ARRAY[{names}]::text[], ARRAY[{values}]::text[])").format(
        names=sql.SQL(", ").join(sql.Literal(c.name) for c in columns),
        values=sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(alias, c.name))
                                  for c in columns))


def digest(columns: list[Column], alias: str) -> sql.Composable:
    """The md5 of row `alias`'s columns `columns`, in their order: their text outputs as one
    record's text, which tells a null (nothing) from an empty string ("")."""
    return sql.SQL("md5(ROW({values})::text)").format(
        values=sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(alias, c.name))
                                  for c in columns))


def digest_columns(conn: psycopg.Connection, columns: list[Column]) -> list[Column]:
    """The columns of `columns` a run's digests of the rows it inserted cover: all but those
    the target's own triggers rewrite whenever a row is written (even a write that changes
    nothing else changes them; learned on a migrated row, so a first run asks after its
    INSERT) and generated columns (computed from the others: no write sets them)."""
    rewritten = rewritten_columns(conn, columns)
    return [c for c in columns if c.name not in rewritten and not c.generated]


def _cast(column: Column, images: str = "r") -> sql.Composable:
    """The column's old value: its text in the before-image, cast back to its type."""
    return sql.SQL("({} ->> {})::{}").format(
        sql.Identifier(images, "before"), sql.Literal(column.name),
        sql.Identifier(column.type_schema, column.type_name))


def ledger_problem(conn: psycopg.Connection) -> str | None:
    """Why the doctor_migration schema's tables are not this tool's ledger; None when they
    are, or when there is no ledger yet."""
    found: dict[str, dict[str, str]] = {}
    for table, column, type_name in conn.execute(load_sql("select_ledger_columns")):
        found.setdefault(table, {})
        if column is not None:
            found[table][column] = type_name
    if not found:
        return None
    details = []
    for table, wanted in LEDGER_COLUMNS.items():
        have = found.get(table)
        if have is None:
            details.append(f"doctor_migration.{table} is missing")
            continue
        missing = [c for c in wanted if c not in have]
        if missing:
            details.append(f"doctor_migration.{table} has no column {', '.join(missing)}")
        details += [f"doctor_migration.{table}.{c} is {have[c]}, not {t}"
                    for c, t in wanted.items() if c in have and have[c] != t]
    if "ledger_format" in found.get("runs", {}) and found["runs"]["ledger_format"] != "integer":
        details.append("doctor_migration.runs.ledger_format is not integer")
    if not details:
        return None
    return (f"schema doctor_migration is not this tool's run ledger ({'; '.join(details)}): "
            "rename or drop that schema, then run again")


def _ledger_exists(conn: psycopg.Connection) -> bool:
    problem = ledger_problem(conn)
    if problem:
        raise MigrationError(f"{problem}; nothing was changed")
    return conn.execute(load_sql("select_ledger_exists")).fetchone()[0]


def history(conn: psycopg.Connection, limit: int = 20,
            lock_timeout: str = LOCK_TIMEOUT) -> list[RunEntry]:
    """The ledger's runs, newest first (empty when no run ever committed)."""
    with target.ledger_transaction(conn, lock_timeout):
        if not _ledger_exists(conn):
            return []
        return [RunEntry(*row) for row in conn.execute(load_sql("select_runs"), {"limit": limit})]


def last_run(conn: psycopg.Connection, lock_timeout: str = LOCK_TIMEOUT) -> LastRun:
    """The run an undo without a run id picks: the newest that changed doctors and is not
    rolled back. A run that changed nothing (a rerun on unchanged data) is never picked: its
    rollback would undo nothing."""
    with target.ledger_transaction(conn, lock_timeout):
        row = conn.execute(load_sql("select_last_run")).fetchone() if _ledger_exists(conn) else None
    if row is None:
        raise RollbackRefused("there is no run to roll back: no run in the ledger changed "
                              "doctors and is not rolled back")
    return LastRun(*row)


def _restore(conn: psycopg.Connection, columns: list[Column], images: str,
             only: set[str]) -> tuple[int, int]:
    """Write every image's columns in `only` back: updated rows in place, deleted rows
    recreated. (rows updated, rows recreated)"""
    table = sql.Identifier(images)

    def statement(name: str, writable: list[Column]) -> sql.Composable:
        return sql.SQL(load_sql(name)).format(
            images=table, columns=sql.SQL(", ").join(sql.Identifier(c.name) for c in writable),
            values=sql.SQL(", ").join(_cast(c) for c in writable))

    kept = [c for c in columns if c.name in only and not c.generated]
    if not kept:  # the run wrote no row: its images hold no column
        return 0, 0
    updated = conn.execute(statement("restore_updated_doctors",
                                     [c for c in kept if not c.identity_always])).rowcount
    recreated = conn.execute(statement("restore_deleted_doctors", kept)).rowcount
    return updated, recreated


def rewritten_columns(conn: psycopg.Connection, columns: list[Column],
                      run_id: str | None = None) -> list[str]:
    """The columns the target itself rewrites when the rollback writes a row back (BEFORE
    triggers: updated_at, a version counter...), learned by doing it to one row, in a
    savepoint that is rolled back: updating it to its own image, then deleting and
    recreating it, and seeing which columns do not keep the value written. Its timestamps are
    written one microsecond earlier than they are: a trigger that stamps the transaction's
    time would otherwise write the value a row written in the same transaction (a first
    run's) already has. A row the run `run_id` inserted is preferred (no other table may
    reference it)."""
    row = conn.execute(load_sql("select_probe_doctor"), {"run_id": run_id}).fetchone()
    if row is None:
        return []
    ids = {"doctor_id": row[0]}
    read = sql.SQL(load_sql("select_doctor_image")).format(image=image(columns, "d"))
    names = {c.name for c in columns}
    stamps = [c for c in columns if not c.generated and c.type_schema == "pg_catalog"
              and c.type_name in ("timestamptz", "timestamp")]
    changed: set[str] = set()
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL(load_sql("create_probe_images")).format(
            images=sql.Identifier("probe_images"), image=image(columns, "d")), ids)
        if stamps:
            conn.execute(sql.SQL(load_sql("shift_probe_timestamps")).format(
                names=sql.SQL(", ").join(sql.Literal(c.name) for c in stamps),
                values=sql.SQL(", ").join(
                    sql.SQL("(({} ->> {})::{} - interval '1 microsecond')::text").format(
                        sql.Identifier("before"), sql.Literal(c.name),
                        sql.Identifier(c.type_schema, c.type_name)) for c in stamps)))
        written = conn.execute(load_sql("select_probe_image")).fetchone()[0]
        _restore(conn, columns, "probe_images", names)
        changed |= {k for k, v in conn.execute(read, ids).fetchone()[0].items()
                    if written[k] != v}
        try:
            with conn.transaction():
                conn.execute(load_sql("delete_probe_doctor"), ids)
                conn.execute(load_sql("update_probe_images"))
                _restore(conn, columns, "probe_images", names)
                changed |= {k for k, v in conn.execute(read, ids).fetchone()[0].items()
                            if written[k] != v}
        except psycopg.errors.IntegrityError:
            pass  # referenced by another table: the INSERT path stays unprobed
    return [c.name for c in columns if c.name in changed]


@dataclass(frozen=True)
class Recorded:
    """How the ledger recorded a run (select_run_format.sql)."""

    ledger_format: int
    # The columns the digests of its inserted rows cover; None: it kept after-images.
    digest_columns: list[str] | None
    stage_id: str | None  # the stage whose doctor_rows it merged


def _image_differences(conn: psycopg.Connection, current: sql.Composable,
                       compared: list[Column], ignored: list[str], doctor_ids: list) -> dict:
    """{doctors.id: the columns in which it differs from its after-image}, for the rows of
    `doctor_ids` that have one."""
    return dict(conn.execute(sql.SQL(load_sql("select_columns_changed_from_image")).format(
        current=current, image=image(compared, "d")),
        {"doctor_ids": doctor_ids, "ignored": ignored}).fetchall())


def _staged_differences(conn: psycopg.Connection, stage_id: str | None,
                        columns: list[Column], doctor_ids: list) -> dict:
    """{doctors.id: the mapped columns in which it differs from its row in the run's stage},
    for the rows of `doctor_ids` kept as a digest whose row the stage still holds."""
    if stage_id is None or not conn.execute(
            load_sql("select_stage_tables"), {"tables": ["doctor_rows"]}).fetchall():
        return {}
    types = {c.name: c for c in columns}
    differences = sql.SQL(", ").join(
        sql.SQL("CASE WHEN {now}::text IS DISTINCT FROM CAST({staged} AS {type})::text "
                "THEN {name} END").format(
            now=sql.Identifier("d", name), staged=sql.Identifier("s", name),
            type=sql.Identifier(types[name].type_schema, types[name].type_name),
            name=sql.Literal(name))
        for name in MAPPED_COLUMNS)
    return dict(conn.execute(
        sql.SQL(load_sql("select_columns_changed_from_stage")).format(differences=differences),
        {"stage_id": stage_id, "doctor_ids": doctor_ids}).fetchall())


def _changed_since(problem: str, columns: list[str] | None) -> str:
    """What became of a row, with the columns that changed (in name order) when they are known
    ([]: only columns the migration does not map)."""
    if columns is None:
        return problem
    if not columns:
        return f"{problem} (a column the migration does not map)"
    return (f"{problem} ({'column' if len(columns) == 1 else 'columns'} "
            f"{', '.join(sorted(columns))})")


def _refuse_unless_restorable(conn: psycopg.Connection, run_id: str, recorded: Recorded,
                              columns: list[Column], current: sql.Composable,
                              compared: list[Column], ignored: list[str]) -> None:
    later = conn.execute(load_sql("select_later_runs_touching"), {"run_id": run_id}).fetchall()
    if later:
        named = ", ".join(f"{rid} ({n} rows)" for rid, n in later)
        raise RollbackRefused(
            f"run {run_id} cannot be rolled back: later runs changed the same doctors and are "
            f"not rolled back: {named}; roll those back first (newest first). Nothing was changed"
        )
    types = {c.name: c for c in columns}
    digested = recorded.digest_columns or []
    gone = [name for name in digested if name not in types]
    if gone:
        raise RollbackRefused(
            f"run {run_id} cannot be rolled back exactly: the rows it inserted cannot be "
            f"checked, since {'column' if len(gone) == 1 else 'columns'} {', '.join(gone)} of "
            "doctors, which the ledger's digests of them cover, "
            f"{'was' if len(gone) == 1 else 'were'} dropped after the run. Nothing was changed")
    changed = conn.execute(sql.SQL(load_sql("select_rows_changed_since_run")).format(
        images=sql.Identifier("rollback_images"), current=current,
        image=image(compared, "d"),
        digest=digest([types[name] for name in digested], "d") if digested
        else sql.SQL("NULL::text")), {"ignored": ignored}).fetchall()
    if changed:
        shown = changed[:SHOWN]
        edited = [did for did, _, _, problem in shown if problem == "changed since the run"]
        # A row kept as a digest has no image to tell what changed: the run's stage does.
        differences = {
            **_image_differences(conn, current, compared, ignored, edited),
            **_staged_differences(conn, recorded.stage_id, columns, edited)}
        named = "; ".join(f"doctors row {did} (legacy user {uid}, {DONE[action]} by the run): "
                          + _changed_since(problem, differences.get(did))
                          for did, uid, action, problem in shown)
        raise RollbackRefused(
            f"run {run_id} cannot be rolled back exactly: {len(changed)} of its rows changed "
            f"since: {named}. Nothing was changed"
        )
    references = target.referencing_rows(conn, "select_run_doctor_ids",
                                         {"run_id": run_id, "action": "insert"})
    if references:
        raise RollbackRefused(
            f"run {run_id} cannot be rolled back: rows it inserted are now referenced: "
            + "; ".join(references[:SHOWN]) + ". Nothing was changed"
        )


def _expect(what: str, done: int, planned: int) -> None:
    if done != planned:
        raise MigrationError(f"{what} affected {done} rows where {planned} were planned; "
                             "the rollback was undone, nothing was changed")


def _stage_images(conn: psycopg.Connection, run_id: str, recorded: Recorded,
                  columns: list[Column]) -> None:
    """rollback_images: the run's images in format 2, whatever format the run wrote, and the
    digests of its inserted rows."""
    if recorded.ledger_format == LEDGER_FORMAT:
        before, after = sql.Identifier("r", "before"), sql.Identifier("r", "after")
    else:
        # Format 1 held to_jsonb images: read them back as the old version did, as text
        # images of the columns they hold.
        def converted(side: str) -> sql.Composable:
            return sql.SQL(
                "CASE WHEN {side} IS NOT NULL THEN (SELECT {image} FROM jsonb_populate_record("
                "NULL::public.doctors, {side}) AS b) - ARRAY(SELECT k FROM "
                "unnest({names}::text[]) AS k WHERE NOT {side} ? k) END").format(
                side=sql.Identifier("r", side), image=image(columns, "b"),
                names=sql.Literal([c.name for c in columns]))
        before, after = converted("before"), converted("after")
    after_digest = (sql.SQL("NULL::text") if recorded.digest_columns is None
                    else sql.Identifier("r", "after_digest"))
    conn.execute(sql.SQL(load_sql("create_rollback_images")).format(
        images=sql.Identifier("rollback_images"), before=before, after=after,
        after_digest=after_digest), {"run_id": run_id})


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
        if inserted == updated == deleted == 0:  # nothing to undo: the ledger stays as it is
            return RollbackResult(run_id, 0, 0, 0, time.perf_counter() - started)
        ids = {"run_id": run_id}
        recorded = Recorded(*conn.execute(load_sql("select_run_format"), ids).fetchone())
        target.lock_doctors(conn, timeouts.lock_timeout)
        columns = doctor_columns(conn)
        _stage_images(conn, run_id, recorded, columns)
        held = {k for (k,) in conn.execute(load_sql("select_image_columns"))}
        rewritten = rewritten_columns(conn, columns, run_id)
        compared = [c for c in columns if c.name in held and c.name not in rewritten]
        ignored = sorted(held - {c.name for c in compared})
        # A format 1 image went through to_jsonb: compare today's rows the same way.
        current = (sql.SQL("public.doctors") if recorded.ledger_format == LEDGER_FORMAT else
                   sql.SQL("(SELECT n.* FROM public.doctors AS d0, "
                           "jsonb_populate_record(NULL::public.doctors, to_jsonb(d0)) AS n)"))
        _refuse_unless_restorable(conn, run_id, recorded, columns, current, compared, ignored)

        _expect("removing inserted rows",
                conn.execute(load_sql("delete_inserted_doctors"), ids).rowcount, inserted)
        restored, recreated = _restore(conn, columns, "rollback_images", held)
        _expect("restoring updated rows", restored, updated)
        _expect("recreating deleted rows", recreated, deleted)
        duplicates = conn.execute(sql.SQL(load_sql("select_duplicate_doctors_of_run")).format(
            images=sql.Identifier("rollback_images"))).fetchall()
        if duplicates:
            named = ", ".join(f"legacy user {uid} ({n} rows)" for uid, n in duplicates[:SHOWN])
            raise RollbackRefused(
                f"run {run_id} cannot be rolled back: it would leave more than one migrated "
                f"doctors row for {named}, since a row was created for them outside the "
                "ledger's runs; remove that row first. Nothing was changed")
        wrong = conn.execute(sql.SQL(load_sql("select_rows_not_restored")).format(
            images=sql.Identifier("rollback_images"), current=current,
            image=image(compared, "d")), {"ignored": ignored}).fetchall()
        if wrong:
            raise MigrationError(f"{len(wrong)} rows did not return to their state before run "
                                 f"{run_id}; the rollback was undone, nothing was changed")
        conn.execute(load_sql("mark_run_rolled_back"), {
            **ids, "rolled_back_by": f"{conn.info.user} ({os_user()})"})
        doctors = conn.execute(load_sql("count_doctors")).fetchone()[0]
    names = [c.name for c in columns]
    # Caveats are about rows written back; a run that only inserted has none.
    written_back = held if updated or deleted else set()
    return RollbackResult(
        run_id, inserted, updated, deleted, time.perf_counter() - started, doctors,
        rewritten=[n for n in rewritten if n in written_back],
        added=[n for n in names if n not in held and written_back],
        dropped=sorted(written_back - set(names)))


