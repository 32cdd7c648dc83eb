"""The checks of loaded_doctors executed on their own (the Checks tab's Execute, the job
check_loaded_doctors, its daily schedule): the live public.doctors against the ledger's record
of the newest applied run, its clean legacy ids and the digests of what it left
(run_digests). Never against a stage, which the next command replaces, nor against Dagster's
metadata (a rollback materializes loaded_doctors too). Reads only, in one snapshot."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from doctor_migration.migration import locks, target
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import StopMigration
from doctor_migration.migration.reconcile import Reconciliation, compare_with_run
from doctor_migration.migration.validation import ValidationResult, clean_of_run, validate_target

# What the evaluation reads, for naming the sessions a lock wait is for.
READS = {"public.doctors": "AccessShareLock", "public.profiles": "AccessShareLock",
         "doctor_migration.runs": "AccessShareLock",
         "doctor_migration.run_digests": "AccessShareLock"}
# With no applied run, the target should hold no migrated doctor.
NO_RUN = "no applied run in the ledger (none committed, or every one rolled back)"
# A run recorded before run_digests: the checks cannot say what it left.
NO_DIGESTS = ("was recorded by a version that kept no digests of what a run left, so the "
              "checks have nothing to compare the target with: run the migration again (a "
              "rerun on unchanged data writes no doctor)")


@dataclass(frozen=True)
class LiveEvaluation:
    """The checks' findings on the live target, against the newest applied run."""

    run_id: str | None  # the newest applied run; None when there is none
    validation: list[ValidationResult]
    reconciliation: Reconciliation
    native_now: tuple[int, str]
    native_after_run: tuple[int, str] | None  # as the run left them (recorded at its COMMIT)
    lookup_legacy_id: int | None  # step 4.2's example, as the run chose it

    @property
    def against(self) -> str:
        """What the target was compared with, as a summary starts."""
        return f"against run {self.run_id}" if self.run_id else NO_RUN


def _fingerprint(text: str | None) -> tuple[int, str] | None:
    """The ledger's "count:md5" of the native doctors, as native_fingerprint gives it."""
    if not text:
        return None
    count, digest = text.split(":", 1)
    return int(count), digest


def evaluate(conn: psycopg.Connection, lock_timeout: str) -> LiveEvaluation:
    """Steps 3.1-3.4 and the reconciliation of the live target against the newest applied run
    (with none, against no clean doctor at all), and its native doctors now; writes nothing.
    A run recorded by a version that kept no digests cannot be checked: StopMigration."""
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    with locks.bounded_transaction(conn, "target", READS, lock_timeout,
                                   "the checks did not run"):
        exists = conn.execute(load_sql("select_ledger_exists")).fetchone()[0]
        if exists and not target.ledger_is_current(conn):
            raise StopMigration(f"the newest applied run {NO_DIGESTS}")
        run = conn.execute(load_sql("select_newest_applied_run")).fetchone() if exists else None
        run_id, lookup, native_after, digested = run or (None, None, None, True)
        if not digested:
            raise StopMigration(f"the newest applied run, {run_id}, {NO_DIGESTS}")
        clean = clean_of_run(run_id or "")
        expected = conn.execute(load_sql("count_run_digests"), {"run_id": run_id}).fetchone()[0]
        validation = validate_target(conn, expected, clean)
        reconciliation = compare_with_run(conn, run_id or "")
        native = conn.execute(load_sql("select_native_doctors_fingerprint")).fetchone()
    return LiveEvaluation(run_id, validation, reconciliation, (int(native[0]), native[1]),
                          _fingerprint(native_after), lookup)
