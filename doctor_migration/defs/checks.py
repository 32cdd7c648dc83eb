"""Asset checks, named as the predicates they assert. Gates block: a failure stops the run
before anything is written. The checks of loaded_doctors read what the load did from its
materialization in the run's event log, and the target in SQL: no value passes between steps."""

import dagster as dg

from doctor_migration import names
from doctor_migration.defs.failures import fails_with_reason
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration import locks, reconcile, stage, timings
from doctor_migration.migration.gates import GateResult
from doctor_migration.migration.load import LoadResult
from doctor_migration.migration.report import markdown_table
from doctor_migration.migration.seal import Seal
from doctor_migration.migration.target import Timeouts
from doctor_migration.migration.validation import ValidationResult, validate_committed
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

# Steps 3.1-3.4, evaluated against the committed target.
LOADED_DOCTOR_CHECKS = [
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
        additional_deps=["doctor_rows"],
        description="Every migrated row, read back from the target, equals the step 2.2 "
                    "mapping column by column.",
    ),
    dg.AssetCheckSpec(
        names.NATIVE_DOCTORS_UNTOUCHED, asset="loaded_doctors", blocking=True,
        additional_deps=["doctor_rows"],
        description="Doctors created in Supabase (legacy_user_id IS NULL) are exactly as "
                    "before the run.",
    ),
]

# Step 4: measured, warned about, never blocking (WARN severity).
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


def validation_check_result(v: ValidationResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key="loaded_doctors", check_name=v.name, passed=v.passed, description=v.summary,
        metadata={"step": v.step, "summary": v.summary, **v.values,
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


# The checks after the load: the target is already migrated when one of them cannot run.
AFTER_COMMIT = ("the load had committed, this check did not run (`doctor-migration plan` "
                "checks the target again)")
# What they read: the migrated doctors, the profiles, the command's doctor_rows.
CHECK_READS = {"public.doctors": "AccessShareLock", "public.profiles": "AccessShareLock",
               "doctor_migration.doctor_rows": "AccessShareLock"}


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


def load_summary(instance: dg.DagsterInstance, run_id: str) -> tuple[LoadResult, str]:
    """What the load did, and its lock timeout: this run's, or (checks launched on their own)
    the latest load's."""
    meta = run_record(instance, run_id, "loaded_doctors")
    if not meta:
        entry = instance.get_latest_materialization_event(dg.AssetKey("loaded_doctors"))
        if entry is None:
            raise dg.Failure("loaded_doctors was never materialized: run the migration first")
        meta = {k: v.value for k, v in entry.asset_materialization.metadata.items()}
    return LoadResult.from_json(meta["load_result"]), meta.get("lock_timeout", names.LOCK_TIMEOUT)


def _seal(loaded: LoadResult) -> Seal | None:
    """The doctor_rows seal the load verified (None for a load recorded before seals)."""
    return Seal.from_json(loaded.sealed) if loaded.sealed else None


# The checks of loaded_doctors as plain functions of the load's result: the multi-asset checks
# below and the dry run's ops (defs/dry_run.py) call them. A dry run's load rolled back, so
# its validation and reconciliation are those its load took before the rollback.

def validation_results(loaded: LoadResult, timeouts: Timeouts,
                       target: PostgresResource) -> list[dg.AssetCheckResult]:
    """Steps 3.1-3.4 on the committed target (a dry run's, as its load left the rows)."""
    if loaded.dry_run:
        results = loaded.validation
    else:
        with target.connect() as conn, stage.transaction(
                conn, loaded.stage_id, "run", timeouts, CHECK_READS, AFTER_COMMIT):
            results = validate_committed(conn, loaded.stage_id, _seal(loaded))
    return [validation_check_result(v) for v in results]


def reconciliation_results(loaded: LoadResult, timeouts: Timeouts,
                           target: PostgresResource) -> list[dg.AssetCheckResult]:
    """Every migrated row read back and compared with the mapping; native doctors compared."""
    if loaded.dry_run:
        result = loaded.reconciliation
        summary = "dry run, as the rolled-back load left the rows: " + result.summary
    else:
        with target.connect() as conn, stage.transaction(
                conn, loaded.stage_id, "run", timeouts, CHECK_READS, AFTER_COMMIT):
            result = reconcile.reconcile(conn, loaded.stage_id, _seal(loaded))
        summary = result.summary
    shown = sorted(result.mismatches)[:SHOWN]
    before, after = loaded.native_before, loaded.native_after
    untouched = before == after
    native_summary = (f"{after[0] if after else 0} native doctors, "
                      + ("every column as before the run" if untouched
                         else f"changed during the run (before: {before}, after: {after})"))
    return [
        dg.AssetCheckResult(
            asset_key="loaded_doctors", check_name=names.MIGRATED_ROWS_MATCH_MAPPING,
            passed=result.passed, description=summary, metadata={
                "summary": summary, "compared": result.compared,
                "mismatching": result.differing_count,
                "missing": len(result.missing),
                "missing_legacy_ids": id_table(result.missing[:SHOWN]),
                "unexpected": len(result.unexpected),
                "unexpected_legacy_ids": id_table(result.unexpected[:SHOWN]),
                "mismatching_columns": offender_table(
                    [(uid, ", ".join(result.mismatches[uid])) for uid in shown], "columns"),
            }),
        dg.AssetCheckResult(
            asset_key="loaded_doctors", check_name=names.NATIVE_DOCTORS_UNTOUCHED,
            passed=untouched, description=native_summary, metadata={
                "summary": native_summary,
                "native_doctors": after[0] if after else 0,
            }),
    ]


def timing_results(loaded: LoadResult, timeouts: Timeouts,
                   target: PostgresResource) -> list[dg.AssetCheckResult]:
    """Steps 4.1 and 4.2 with EXPLAIN ANALYZE; slower than the plan's thresholds is a warning."""
    with target.connect() as conn, locks.naming_blockers(
            conn, "target", CHECK_READS, timeouts.lock_timeout, AFTER_COMMIT):
        measured = {t.name: t for t in timings.measure(conn, loaded.lookup_legacy_id,
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


def _checked(context: dg.AssetCheckExecutionContext) -> tuple[LoadResult, Timeouts]:
    """The load's result and the run's timeouts (every wait of a check ends after its lock
    timeout)."""
    result, lock_timeout = load_summary(context.instance, context.run.run_id)
    return result, Timeouts(lock_timeout=lock_timeout)


@dg.multi_asset_check(specs=LOADED_DOCTOR_CHECKS)
@fails_with_reason
def loaded_doctors_pass_validation(context: dg.AssetCheckExecutionContext,
                                   target: PostgresResource):
    """Steps 3.1-3.4 on the committed target."""
    yield from validation_results(*_checked(context), target)


@dg.multi_asset_check(specs=RECONCILIATION_CHECKS)
@fails_with_reason
def loaded_doctors_reconcile(context: dg.AssetCheckExecutionContext, target: PostgresResource):
    """Read every migrated row back and compare it with the mapping; compare native doctors."""
    yield from reconciliation_results(*_checked(context), target)


@dg.multi_asset_check(specs=TIMING_CHECKS)
@fails_with_reason
def loaded_doctors_meet_plan_timings(context: dg.AssetCheckExecutionContext,
                                     target: PostgresResource):
    """Steps 4.1 and 4.2 with EXPLAIN ANALYZE; slower than the plan's thresholds is a warning."""
    yield from timing_results(*_checked(context), target)
