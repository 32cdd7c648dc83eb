"""Steps 2.2–3.4 of the plan on the target, in one transaction: stage, compare, merge, validate.

The checks of loaded_doctors (steps 3.1-3.4, the reconciliation, native doctors untouched)
are evaluated here once, before COMMIT: a failure rolls the load back and names the check and
its offenders; once COMMIT succeeded their results are the checks' results.

Unlike the plan's step 2.1 there is no clean slate: doctors created in Supabase
(legacy_user_id IS NULL) are never touched, existing migrated rows are updated in place
(their id is referenced elsewhere), and migrated rows whose user is no longer clean are
deleted unless another table still references them. Every row written is recorded in the
run ledger with its state before and after, so the run can be rolled back exactly.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import psycopg
from psycopg import sql

from doctor_migration import __version__, names
from doctor_migration.migration import db, ledger, seal, stage, target
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError, StopMigration, os_user
from doctor_migration.migration.gates import another_doctor_stop
from doctor_migration.migration.mapping import MAPPED_COLUMNS, digest
from doctor_migration.migration.reconcile import Reconciliation, compare_staged
from doctor_migration.migration.validation import ValidationResult, validate_target
from doctor_migration.names import DELETE_LIMIT_FLOOR, DELETE_LIMIT_PERCENT, SHOWN


@dataclass
class LoadResult:
    """What a load did (or, in a dry run, would have done)."""

    run_id: str
    dry_run: bool
    clean_count: int
    # The command's stage (doctor_migration.doctor_rows WHERE run_id = stage_id).
    stage_id: str = ""
    # The most migrated doctors the run may delete (delete_limit), and what it was computed from.
    delete_limit: int = 0
    migrated_before: int = 0
    # The doctor_rows step's seal the load verified (seal.Seal.to_json()).
    sealed: dict | None = None
    # A re-execution that reused its root run's stage: {"read_by": the run that read the
    # source, "taken_at": when, "age_minutes": how long before this load}.
    source_snapshot: dict | None = None
    # Step 4.2's example: the clean doctor with the most patients.
    lookup_legacy_id: int | None = None
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    changed_columns: list[dict] = field(default_factory=list)
    validation: list[ValidationResult] = field(default_factory=list)
    native_before: tuple[int, str] | None = None
    native_after: tuple[int, str] | None = None
    # Every row of public.doctors (migrated and native) as the load leaves it: at its COMMIT
    # (a dry run: before its rollback).
    doctors_after: int = 0
    # The reconciliation, taken inside the transaction before its COMMIT (a dry run's: before
    # its rollback).
    reconciliation: Reconciliation | None = None
    # Columns the target's own triggers rewrite when a rollback writes a row back.
    rollback_cannot_restore: list[str] = field(default_factory=list)
    # The values a dry run's inserts took from sequences (which its rollback does not return):
    # {"sequence": qualified name, "values": n}.
    sequences_advanced: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted

    def to_json(self) -> dict:
        """The result as JSON-ready data (ids and counts only), for the run's event log."""
        values = asdict(self)
        values["reconciliation"] = (self.reconciliation.to_json()
                                    if self.reconciliation else None)
        return values

    @classmethod
    def from_json(cls, values: dict) -> LoadResult:
        values = dict(values)
        values["validation"] = [ValidationResult(**v) for v in values["validation"]]
        values["reconciliation"] = (Reconciliation.from_json(values["reconciliation"])
                                    if values["reconciliation"] else None)
        for side in ("native_before", "native_after"):
            values[side] = tuple(values[side]) if values[side] else None
        return cls(**values)


def native_fingerprint(conn: psycopg.Connection) -> tuple[int, str]:
    """(count, digest of every column) of the doctors created in Supabase."""
    count, digest = conn.execute(load_sql("select_native_doctors_fingerprint")).fetchone()
    return int(count), digest


def _stop_on_duplicate_migrated_rows(conn: psycopg.Connection) -> None:
    duplicates = conn.execute(load_sql("select_duplicate_migrated_doctors")).fetchall()
    if duplicates:
        named = ", ".join(f"legacy user {uid} ({n} rows)" for uid, n, _ in duplicates[:SHOWN])
        raise StopMigration(
            f"{len(duplicates)} legacy users already have more than one migrated doctors row: "
            f"{named}; resolve them by hand before migrating"
        )


def _stop_on_profiles_with_other_doctors(conn: psycopg.Connection) -> None:
    """Step 1.3's no_profile_has_another_doctor again, over the rows the load merges: a doctors
    row may have appeared on a clean doctor's profile since the gates."""
    rows = conn.execute(load_sql("select_staged_profiles_with_other_doctors")).fetchall()
    if rows:
        raise StopMigration(another_doctor_stop(rows))


def _expect(what: str, done: int, planned: int) -> None:
    if done != planned:
        raise MigrationError(
            f"{what} affected {done} doctors rows where {planned} were planned; rolled back"
        )


def _sequences_advanced(conn: psycopg.Connection, inserted: int) -> list[dict]:
    """What `inserted` rows took from the sequences behind doctors' identity and serial columns."""
    if not inserted:
        return []
    written = [*MAPPED_COLUMNS, "updated_at"]  # the columns insert_doctors.sql sets
    return [{"sequence": name, "values": per_row * inserted}
            for name, per_row in conn.execute(load_sql("select_doctor_sequences"),
                                              {"written": written})]


def delete_limit(migrated_before: int, max_deletes: int | None = None) -> int:
    """How many migrated doctors a run may delete: `max_deletes` when the operator gives it,
    else the larger of DELETE_LIMIT_FLOOR and DELETE_LIMIT_PERCENT of the migrated rows before
    the run (rounded up)."""
    if max_deletes is not None:
        return max_deletes
    return max(DELETE_LIMIT_FLOOR, -(-migrated_before * DELETE_LIMIT_PERCENT // 100))


def load_doctors(
    conn: psycopg.Connection,
    stage_id: str,
    *,
    run_id: str,
    sealed: seal.Seal,
    expected_count: int | None = None,
    max_deletes: int | None = None,
    dry_run: bool = False,
    timeouts: target.Timeouts = target.Timeouts(),
    claim: stage.Claim | None = None,
) -> LoadResult:
    """Merge the command's doctor_rows (the stage `stage_id`) into public.doctors in one
    transaction: plan the changes, apply them with the ledger, verify before COMMIT.

    What it merges is its own copy of doctor_rows, verified against `sealed`, the doctor_rows
    step's seal, after its locks; its count must still be `expected_count`, and it deletes at
    most delete_limit(...) migrated doctors. With dry_run the same statements run and the
    transaction is rolled back: the result says what a run would do, and the target (doctors
    and ledger) is left exactly as it was.
    """
    started = time.perf_counter()
    command = "plan" if dry_run else "run"
    result = LoadResult(run_id=run_id, dry_run=dry_run, clean_count=0, stage_id=stage_id,
                        sealed=sealed.to_json())
    try:
        with conn.transaction(force_rollback=dry_run):
            target.begin(conn, command, run_id, timeouts)
            stage.hold(conn, stage_id, command, claim=claim)
            target.lock_doctors(conn, timeouts.lock_timeout)
            target.ensure_ledger(conn)
            _plan_changes(conn, stage_id, sealed, expected_count, max_deletes, result)
            _apply_changes(conn, run_id, expected_count, result)
            _verify(conn, result)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise MigrationError(
            f"the target role {conn.info.user} lacks a privilege the load needs: "
            f"{exc.diag.message_primary}; nothing was changed"
        ) from None
    except psycopg.errors.QueryCanceled as exc:
        if db.timed_out(exc):
            raise  # db.connect names the setting that cancelled it, and what to do
        raise MigrationError(
            f"the load was cancelled ({exc.diag.message_primary}); nothing was changed"
        ) from None
    result.seconds = time.perf_counter() - started
    return result


def _plan_changes(conn: psycopg.Connection, stage_id: str, sealed: seal.Seal,
                  expected_count: int | None, max_deletes: int | None,
                  result: LoadResult) -> None:
    """What the load will do to each doctors row, counted, and the stop conditions that forbid
    it, before any write: the command's rows, verified against their seal and typed like
    public.doctors, classified."""
    result.clean_count = stage.stage_doctor_rows(conn, stage_id, sealed)
    if expected_count is not None and result.clean_count != expected_count:
        raise StopMigration(
            f"the load found {result.clean_count} clean doctors in its stage where "
            f"{expected_count} are expected; nothing was written")
    lookup = conn.execute(load_sql("select_lookup_legacy_id")).fetchone()
    result.lookup_legacy_id = lookup[0] if lookup else None
    _stop_on_duplicate_migrated_rows(conn)
    _stop_on_profiles_with_other_doctors(conn)
    conn.execute(load_sql("classify_doctor_changes"))
    counts = dict(conn.execute(load_sql("select_doctor_change_counts")).fetchall())
    result.inserted = counts.get("insert", 0)
    result.updated = counts.get("update", 0)
    result.deleted = counts.get("delete", 0)
    result.unchanged = counts.get("unchanged", 0)
    result.changed_columns = [
        {"column": c, "doctors": n, "examples": list(ex)}
        for c, n, ex in conn.execute(load_sql("select_changed_columns")).fetchall()
    ]
    _stop_on_too_many_deletes(conn, max_deletes, result)
    references = target.referencing_rows(conn, "select_doctors_to_delete")
    if references:
        raise StopMigration(
            "migrated doctors that are no longer clean are still referenced, so they "
            "cannot be deleted: " + "; ".join(references[:SHOWN])
        )


def _stop_on_too_many_deletes(conn: psycopg.Connection, max_deletes: int | None,
                              result: LoadResult) -> None:
    """The last line of defence against a broken stage, a source restored from an old backup
    or a URL pointing at another source: a run deletes at most delete_limit(...) doctors."""
    result.migrated_before = result.updated + result.unchanged + result.deleted
    result.delete_limit = delete_limit(result.migrated_before, max_deletes)
    if result.deleted <= result.delete_limit:
        return
    first = [r[0] for r in conn.execute(load_sql("select_deleted_legacy_ids"),
                                        {"limit": SHOWN})]
    how = ("given by --max-deletes (max_deletes)" if max_deletes is not None else
           f"the larger of {DELETE_LIMIT_FLOOR} and {DELETE_LIMIT_PERCENT}% of the "
           f"{result.migrated_before} migrated doctors before the run")
    raise StopMigration(
        f"the run would delete {result.deleted} migrated doctors that are no longer clean, "
        f"more than the limit of {result.delete_limit} ({how}); legacy user ids: "
        f"{', '.join(map(str, first))}{' ...' if result.deleted > len(first) else ''}; "
        "nothing was written. If the source really lost them, run again with "
        f"--max-deletes {result.deleted} (launchpad: settings, max_deletes)")


def _apply_changes(conn: psycopg.Connection, run_id: str, expected_count: int | None,
                   result: LoadResult) -> None:
    """The run in the ledger, then the UPDATE, INSERT and DELETE, each writing its rows'
    images to the ledger in the same statement (the INSERT: its rows' digests in the next
    one); each must touch exactly the planned rows."""
    columns = ledger.doctor_columns(conn)
    # Learned before any write, so the plan can say it too.
    result.rollback_cannot_restore = ledger.rewritten_columns(conn, columns)
    result.native_before = native_fingerprint(conn)
    ids = {"run_id": run_id}
    conn.execute(load_sql("insert_run"), {
        **ids,
        "started_at": datetime.now(timezone.utc),
        "expected_count": expected_count,
        "clean_count": result.clean_count,
        "os_user": os_user(),
        "tool_version": __version__,
        "ledger_format": ledger.LEDGER_FORMAT,
        "stage_id": result.stage_id,
        "lookup_legacy_id": result.lookup_legacy_id,
        "native_before": _fingerprint_text(result.native_before),
    })

    def with_image(name: str, slot: str, alias: str) -> sql.Composable:
        return sql.SQL(load_sql(name)).format(**{slot: ledger.image(columns, alias)})

    if result.updated or result.deleted:
        _expect("recording the rows to change", conn.execute(
            with_image("insert_before_images", "before", "d"), ids).rowcount,
            result.updated + result.deleted)
    if result.updated:
        _expect("the UPDATE", conn.execute(with_image("update_doctors", "after", "u"),
                                           ids).rowcount, result.updated)
    if result.inserted:
        _expect("the INSERT", conn.execute(load_sql("insert_doctors")).rowcount, result.inserted)
        # Learned on a migrated row, which a first run has only now.
        digested = ledger.digest_columns(conn, columns)
        conn.execute(load_sql("set_run_digest_columns"),
                     {**ids, "digest_columns": [c.name for c in digested]})
        _expect("recording the inserted rows", conn.execute(
            sql.SQL(load_sql("insert_after_digests")).format(
                digest=ledger.digest(digested, "d")), ids).rowcount, result.inserted)
    if result.deleted:
        _expect("the DELETE", conn.execute(load_sql("delete_doctors")).rowcount,
                result.deleted)


def _fingerprint_text(fingerprint: tuple[int, str] | None) -> str | None:
    """native_fingerprint as the ledger keeps it: "count:md5"."""
    return f"{fingerprint[0]}:{fingerprint[1]}" if fingerprint else None


def checks_failed(result: LoadResult) -> list[str]:
    """The checks of loaded_doctors the load's state fails, each with its offenders: steps
    3.1-3.4, the reconciliation, native doctors untouched."""
    failed = [f"step {v.step} {v.name}: {v.summary}" for v in result.validation if not v.passed]
    recon = result.reconciliation
    if recon is not None and not recon.passed:
        shown = [f"legacy user {uid}: {', '.join(columns)}"
                 for uid, columns in sorted(recon.mismatches.items())]
        named = [*shown, *(f"legacy user {uid} missing" for uid in recon.missing),
                 *(f"legacy user {uid} not clean" for uid in recon.unexpected)]
        failed.append(f"{names.MIGRATED_ROWS_MATCH_MAPPING}: {recon.summary} ({'; '.join(named)})")
    if result.native_before != result.native_after:
        failed.append(f"{names.NATIVE_DOCTORS_UNTOUCHED}: native doctors changed during the run "
                      f"(before: {result.native_before}, after: {result.native_after})")
    return failed


def _verify(conn: psycopg.Connection, result: LoadResult) -> None:
    """Before COMMIT, once: the checks of loaded_doctors (any failure of a run rolls the whole
    load back, naming the check and its offenders); then, for a run, its end and what it left
    in the ledger."""
    result.native_after = native_fingerprint(conn)
    result.doctors_after = conn.execute(load_sql("count_doctors")).fetchone()[0]
    result.validation = validate_target(conn, result.clean_count)
    result.reconciliation = compare_staged(conn)
    if result.dry_run:
        result.sequences_advanced = _sequences_advanced(conn, result.inserted)
        return
    failed = checks_failed(result)
    if failed:
        raise StopMigration("validation failed before commit, rolled back: " + "; ".join(failed))
    ids = {"run_id": result.run_id}
    conn.execute(sql.SQL(load_sql("insert_run_digests")).format(digest=digest("d")), ids)
    conn.execute(load_sql("finish_run"), {
        **ids, "inserted": result.inserted, "updated": result.updated,
        "deleted": result.deleted, "unchanged": result.unchanged,
        "native_after": _fingerprint_text(result.native_after),
    })
