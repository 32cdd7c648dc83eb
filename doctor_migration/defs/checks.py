"""Asset checks, named as the predicates they assert. Gates block: a failure stops the run
before anything is written. The checks of loaded_doctors are evaluated once by the load, inside
its transaction, and reported after its COMMIT; executed on their own, they compare the live
target with the ledger's newest applied run (migration/live.py)."""

import dagster as dg

from doctor_migration import names
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration import live, locks, timings
from doctor_migration.migration.gates import GateResult
from doctor_migration.migration.live import NO_RUN, LiveEvaluation
from doctor_migration.migration.load import LoadResult
from doctor_migration.migration.reconcile import Reconciliation
from doctor_migration.migration.report import markdown_table
from doctor_migration.migration.target import Timeouts
from doctor_migration.migration.validation import ValidationResult
from doctor_migration.names import SHOWN  # offending legacy ids in a check's metadata
# The metadata key of the check results a dry run's op records (defs/dry_run.py).
CHECK_RESULTS = "check_results"

# Step 1.3 of the plan, evaluated by the clean_doctors asset itself.
CLEAN_DOCTOR_CHECKS = [
    dg.AssetCheckSpec(
        names.CLEAN_DOCTOR_COUNT_IS_EXPECTED, asset="clean_doctors", blocking=True,
        description="Step 1.3: the source yields exactly the expected number of clean doctors.",
    ),
    dg.AssetCheckSpec(
        names.EVERY_CLEAN_DOCTOR_HAS_ONE_PROFILE, asset="clean_doctors", blocking=True,
        description="Step 1.3: each clean doctor has exactly one doctor profile in the target.",
    ),
    dg.AssetCheckSpec(
        names.PROFILES_MATCH_SOURCE, asset="clean_doctors", blocking=True,
        description="Step 1.3: profile names and e-mails equal the source's "
                    "(trimmed, case-insensitive).",
    ),
    dg.AssetCheckSpec(
        names.NO_PROFILE_HAS_ANOTHER_DOCTOR, asset="clean_doctors", blocking=True,
        description="Step 1.3: no clean doctor's profile already holds a doctors row other than "
                    "its own migrated one (a native doctor, or one migrated for another user).",
    ),
    dg.AssetCheckSpec(
        names.NO_CLEAN_DOCTOR_FAILS_STEP_3_3, asset="clean_doctors", blocking=True,
        description="Step 3.3, before any write: no clean doctor has a test, demo or internal "
                    "e-mail by step 3.3's rules, in the source or in its profile.",
    ),
    dg.AssetCheckSpec(
        names.EVERY_SOURCE_USER_ACCOUNTED_FOR, asset="clean_doctors", blocking=True,
        description="Every auth_user is migrated or excluded with its first reason; the totals "
                    "add up and the migrated set is exactly the plan's step 1.1 result.",
    ),
    dg.AssetCheckSpec(
        names.NO_USERS_MERGED_UNDER_A_BLANK_EMAIL, asset="clean_doctors",
        description="Step 1.1 merged no users as duplicates by e-mail because their e-mails "
                    "are blank (warning only: the plan's SQL is kept as written).",
    ),
]

# Steps 3.1-3.4, evaluated inside the load's transaction.
VALIDATION_CHECKS = [
    dg.AssetCheckSpec(name, asset="loaded_doctors", blocking=True, description=text)
    for name, text in [
        (names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED,
         "Step 3.1: as many migrated doctors as clean doctors."),
        (names.NO_ORPHANED_DOCTORS, "Step 3.2: every doctor has its profile."),
        (names.NO_PROFILE_HAS_TWO_DOCTORS,
         "Step 3.2: a migrated doctor's profile holds no other doctors row."),
        (names.NO_TEST_ACCOUNTS_MIGRATED,
         "Step 3.3: no test, demo or internal account was migrated."),
        (names.LEGACY_IDS_PRESENT_AND_UNIQUE,
         "Step 3.4: every clean legacy id has exactly one migrated row."),
    ]
]


RECONCILIATION_CHECKS = [
    dg.AssetCheckSpec(
        names.MIGRATED_ROWS_MATCH_MAPPING, asset="loaded_doctors", blocking=True,
        description="Every migrated row, read back from the target, equals the step 2.2 "
                    "mapping column by column (on its own: the digests the newest applied run "
                    "recorded).",
    ),
    dg.AssetCheckSpec(
        names.NATIVE_DOCTORS_UNTOUCHED, asset="loaded_doctors", blocking=True,
        description="Doctors created in Supabase (legacy_user_id IS NULL) are exactly as "
                    "before the run (on its own: as the newest applied run left them; a "
                    "warning).",
    ),
]

# Step 4: measured after the COMMIT, warned about, never blocking (WARN severity).
TIMING_CHECKS = [
    dg.AssetCheckSpec(
        names.PROFILE_JOIN_UNDER_100MS, asset="loaded_doctors",
        description="Step 4.1: the doctors-profiles join runs under 100 ms (warning only).",
    ),
    dg.AssetCheckSpec(
        names.LEGACY_ID_LOOKUP_UNDER_10MS, asset="loaded_doctors",
        description="Step 4.2: a lookup by legacy_user_id runs under 10 ms (warning only).",
    ),
]

# Every check of loaded_doctors: its step reports them (can_subset: each can run on its own).
LOADED_DOCTOR_CHECKS = [*VALIDATION_CHECKS, *RECONCILIATION_CHECKS, *TIMING_CHECKS]


def id_table(ids: list[int]) -> dg.TableMetadataValue:
    """Legacy user ids as a one-column table (sortable in the UI)."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"legacy_user_id": int(uid)}) for uid in ids],
        schema=dg.TableSchema(columns=[dg.TableColumn("legacy_user_id", "bigint")]))


def offender_table(rows: list[tuple[int, str]], problem: str = "problem") -> dg.TableMetadataValue:
    """Offending legacy user ids, each with what is wrong with it."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"legacy_user_id": int(uid), problem: text})
                 for uid, text in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn("legacy_user_id", "bigint"),
                                       dg.TableColumn(problem, "text")]))


def accounting_table(rows: list[list[object]]) -> dg.TableMetadataValue:
    """Every source user's outcome, counted (accounting.Accounting.rows)."""
    return dg.MetadataValue.table(
        records=[dg.TableRecord({"outcome": str(outcome), "users": int(users)})
                 for outcome, users in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn("outcome", "text"),
                                       dg.TableColumn("users", "bigint")]))


def table_rows(value: object) -> list[list[object]]:
    """The rows of a table metadata value, in its columns' order (empty for anything else)."""
    if not isinstance(value, dg.TableMetadataValue):
        return []
    names = [column.name for column in value.schema.columns]
    return [[record.data.get(name) for name in names] for record in value.records]


def table_markdown(value: object) -> str:
    """A table metadata value as the CLI's Markdown (column names spelled out)."""
    if not isinstance(value, dg.TableMetadataValue) or not value.records:
        return ""
    header = [column.name.replace("_", " ") for column in value.schema.columns]
    return markdown_table(header, table_rows(value))


def gate_check_result(gate: GateResult) -> dg.AssetCheckResult:
    """A gate as a check result carrying its evidence: totals and the offending legacy ids."""
    metadata: dict = {
        "summary": gate.summary,
        "total": gate.total,
        "offenders": len(gate.offenders),
        "all_offending_legacy_ids": dg.MetadataValue.text(
            " ".join(map(str, gate.offender_ids()))),
    }
    if gate.offenders:
        metadata["offending_users"] = offender_table(
            [(uid, gate.offenders[uid]) for uid in gate.offender_ids(SHOWN)])
    return dg.AssetCheckResult(
        asset_key="clean_doctors", check_name=gate.name, passed=gate.passed, metadata=metadata,
        description=gate.summary,
        severity=dg.AssetCheckSeverity.ERROR if gate.stops_run else dg.AssetCheckSeverity.WARN)


def validation_check_result(v: ValidationResult, against: str = "") -> dg.AssetCheckResult:
    """A step 3 validation as the check's result; `against`: what the target was compared with,
    when the check was executed on its own."""
    summary = f"{against}: {v.summary}" if against else v.summary
    return dg.AssetCheckResult(
        asset_key="loaded_doctors", check_name=v.name, passed=v.passed, description=summary,
        metadata={"step": v.step, "summary": summary, **v.values,
                  "offenders": len(v.offenders),
                  "offending_legacy_ids": id_table(v.offenders[:SHOWN])},
    )


def check_entry(asset: str, check: str, passed: bool, severity: str, meta: dict) -> dict:
    """A check's result (and its metadata's values) as the report lists it: result, summary
    and offenders; with step 4's measurements under "timing"."""
    entry = {"asset": asset, "check": check, "passed": passed, "severity": severity,
             "summary": meta.get("summary", "")}
    if not passed:
        entry["offenders"] = meta.get("all_offending_legacy_ids") or ""
        entry["offending_users"] = table_markdown(meta.get("offending_users"))
    if "execution_ms" in meta:
        entry["timing"] = {k: meta[k] for k in ("step", "planning_ms", "execution_ms",
                                                "threshold_ms", "node_types")} | {"name": check}
    return entry


def result_entry(result: dg.AssetCheckResult) -> dict:
    """check_entry of a check result an op computed (a dry run's, which records no check)."""
    return check_entry(result.asset_key.to_user_string(), result.check_name, result.passed,
                       result.severity.value,
                       {k: getattr(v, "value", v) for k, v in result.metadata.items()})


def evaluation_entry(evaluation: dg.AssetCheckEvaluation) -> dict:
    """check_entry of a check evaluated in a run."""
    return check_entry(evaluation.asset_key.to_user_string(), evaluation.check_name,
                       evaluation.passed, evaluation.severity.value,
                       {k: v.value for k, v in evaluation.metadata.items()})


# After the load's COMMIT, step 4's measurements: the target is already migrated when they
# cannot be taken.
AFTER_COMMIT = ("the load had committed, steps 4.1 and 4.2 were not measured "
                "(`doctor-migration check` measures them)")
# What step 4 reads.
TIMING_READS = {"public.doctors": "AccessShareLock", "public.profiles": "AccessShareLock"}


def run_record(instance: dg.DagsterInstance, run_id: str, asset: str) -> dict:
    """The metadata values of what run `run_id` recorded of `asset`: its materialization, or in
    a dry run, its observation (empty when there is none)."""
    for kind in (dg.DagsterEventType.ASSET_MATERIALIZATION,
                 dg.DagsterEventType.ASSET_OBSERVATION):
        for entry in instance.all_logs(run_id, of_type=kind):
            event = entry.asset_materialization or entry.asset_observation
            if event.asset_key.to_user_string() == asset:
                return {k: v.value for k, v in event.metadata.items()}
    return {}


def load_summary(instance: dg.DagsterInstance, run_id: str) -> LoadResult:
    """What the run's load did (a dry run's: would do)."""
    return LoadResult.from_json(run_record(instance, run_id, "loaded_doctors")["load_result"])


def reconciliation_result(result: Reconciliation, summary: str) -> dg.AssetCheckResult:
    """The reconciliation as the check's result: its counts and the first offenders."""
    shown = sorted(result.mismatches)[:SHOWN]
    return dg.AssetCheckResult(
        asset_key="loaded_doctors", check_name=names.MIGRATED_ROWS_MATCH_MAPPING,
        passed=result.passed, description=summary, metadata={
            "summary": summary, "compared": result.compared,
            "mismatching": result.differing_count,
            "missing": len(result.missing),
            "missing_legacy_ids": id_table(result.missing[:SHOWN]),
            "unexpected": len(result.unexpected),
            "unexpected_legacy_ids": id_table(result.unexpected[:SHOWN]),
            "mismatching_columns": offender_table(
                [(uid, ", ".join(result.mismatches[uid]) or UNNAMED_COLUMNS) for uid in shown],
                "columns"),
        })


# A differing row found by its digest: which of its mapped columns differ is not known.
UNNAMED_COLUMNS = "a mapped column (compared by digest)"


def native_result(passed: bool, summary: str, native_doctors: int,
                  severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR
                  ) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key="loaded_doctors", check_name=names.NATIVE_DOCTORS_UNTOUCHED, passed=passed,
        severity=severity, description=summary,
        metadata={"summary": summary, "native_doctors": native_doctors})


def load_check_results(loaded: LoadResult) -> list[dg.AssetCheckResult]:
    """Steps 3.1-3.4, the reconciliation and the native doctors, as the load evaluated them
    before its COMMIT (a dry run's: before its rollback)."""
    prefix = "dry run, as the rolled-back load left the rows: " if loaded.dry_run else ""
    before, after = loaded.native_before, loaded.native_after
    untouched = before == after
    native = (f"{after[0] if after else 0} native doctors, "
              + ("every column as before the run" if untouched
                 else f"changed during the run (before: {before}, after: {after})"))
    return [*(validation_check_result(v) for v in loaded.validation),
            reconciliation_result(loaded.reconciliation,
                                  prefix + loaded.reconciliation.summary),
            native_result(untouched, native, after[0] if after else 0)]


def live_check_results(found: LiveEvaluation) -> list[dg.AssetCheckResult]:
    """The checks executed on their own: the live target against the newest applied run. The
    native doctors are the application's: a change since that run is a warning."""
    native_now, native_run = found.native_now, found.native_after_run
    if found.run_id is None:
        native = (True, f"{native_now[0]} native doctors; {NO_RUN}")
    elif native_now == native_run:
        native = (True, f"{native_now[0]} native doctors, every column as run "
                        f"{found.run_id} left them")
    else:
        native = (False, f"{native_now[0]} native doctors, changed since run {found.run_id} "
                         f"left {native_run[0] if native_run else 0} (not by a run of the "
                         "migration: each one checks them before its COMMIT)")
    return [
        *(validation_check_result(v, found.against) for v in found.validation),
        reconciliation_result(found.reconciliation,
                              f"{found.against}: {found.reconciliation.summary}"),
        native_result(*native, native_now[0], dg.AssetCheckSeverity.WARN),
    ]


def timing_results(lookup_legacy_id: int | None, timeouts: Timeouts,
                   target: PostgresResource) -> list[dg.AssetCheckResult]:
    """Steps 4.1 and 4.2 with EXPLAIN ANALYZE; slower than the plan's thresholds is a warning."""
    with target.connect() as conn, locks.naming_blockers(
            conn, "target", TIMING_READS, timeouts.lock_timeout, AFTER_COMMIT):
        measured = {t.name: t for t in timings.measure(conn, lookup_legacy_id,
                                                       timeouts.lock_timeout)}
        index = timings.legacy_id_index(conn)
    results = []
    for spec in TIMING_CHECKS:
        t = measured.get(spec.name)
        if t is None:
            results.append(dg.AssetCheckResult(
                check_name=spec.name, asset_key="loaded_doctors", passed=True,
                description="no migrated doctor", metadata={"summary": "no migrated doctor"}))
            continue
        metadata = {
            "summary": f"{t.total_ms:.2f} ms (threshold {t.threshold_ms:.0f} ms), "
                       f"query plan: {', '.join(t.node_types)}",
            "planning_ms": round(t.planning_ms, 3),
            "execution_ms": round(t.execution_ms, 3),
            "threshold_ms": t.threshold_ms,
            "node_types": dg.MetadataValue.json(t.node_types),
            "step": t.step,
        }
        if t.step == "4.2":
            metadata["legacy_id_index"] = index or "none"
            if t.sequential_scan_on_doctors and not index:
                metadata["recommendation"] = timings.INDEX_ADVICE
        results.append(dg.AssetCheckResult(
            check_name=spec.name, asset_key="loaded_doctors", passed=t.passed,
            severity=dg.AssetCheckSeverity.WARN, description=metadata["summary"],
            metadata=metadata))
    return results


def checks_alone(lock_timeout: str, target: PostgresResource) -> list[dg.AssetCheckResult]:
    """Every check of loaded_doctors on the live target, against the newest applied run; writes
    nothing."""
    with target.connect() as conn:
        found = live.evaluate(conn, lock_timeout)
    return [*live_check_results(found),
            *timing_results(found.lookup_legacy_id, Timeouts(lock_timeout=lock_timeout), target)]
