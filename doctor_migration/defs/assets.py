"""The migration plan as five assets:
profile_coverage -> clean_doctors -> doctor_rows -> loaded_doctors -> validation_report."""

from datetime import datetime, timezone

import dagster as dg
import pandas as pd

from doctor_migration.defs.checks import CLEAN_DOCTOR_CHECKS, SHOWN, gate_check_result
from doctor_migration.defs import sources
from doctor_migration.defs.config import LoadConfig, LockConfig, SelectionConfig
from doctor_migration.defs.failures import fails_with_reason
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration import accounting, locks, preflight, selection, timings
from doctor_migration.migration.gates import evaluate_gates
from doctor_migration.migration.load import LoadResult, load_doctors
from doctor_migration.migration.mapping import build_doctor_rows
from doctor_migration.migration.report import build_report, markdown_table, render_markdown
from doctor_migration.migration.target import LOAD_TABLES, Timeouts

GROUP = "doctor_migration"
# Columns that identify people; dropped once the gates have compared them.
PII_COLUMNS = ["first_name", "last_name", "email", "username",
               "profile_first_name", "profile_last_name", "profile_email"]


@dg.asset(group_name=GROUP, kinds={"postgres"}, deps=[sources.profiles])
@fails_with_reason
def profile_coverage(config: LockConfig, target: PostgresResource) -> dg.Output[pd.DataFrame]:
    """Phase 1 of the plan: the doctor profiles the profile migration left in the target,
    after a preflight of every grant, column and policy the run will need there."""
    with target.connect() as conn:
        preflight.check_target(conn, config.lock_timeout)
        profiles = selection.fetch_doctor_profiles(conn, config.lock_timeout)
    per_id = profiles["legacy_user_id"].value_counts()
    several = sorted(int(i) for i in per_id[per_id > 1].index)
    return dg.Output(profiles, metadata={
        "dagster/row_count": len(profiles),
        "legacy_users_with_a_profile": len(per_id),
        "legacy_users_with_several_profiles": len(several),
        "several_profiles_legacy_ids": dg.MetadataValue.json(several[:SHOWN]),
    })


@dg.asset(group_name=GROUP, kinds={"postgres"}, check_specs=CLEAN_DOCTOR_CHECKS,
          deps=sources.LEGACY_TABLES)
@fails_with_reason
def clean_doctors(config: SelectionConfig, source: PostgresResource,
                  profile_coverage: pd.DataFrame):
    """Step 1.1 of the plan on the source, joined with each doctor's profile; gated by step 1.3."""
    with source.connect() as conn:
        preflight.check_source(conn, config.lock_timeout)
        clean, outcomes = selection.read_source(conn, config.lock_timeout)
    joined = selection.attach_profiles(clean, profile_coverage)
    tally = accounting.account(outcomes, clean)
    gates = evaluate_gates(joined, config.expected_count)
    gates.append(accounting.every_source_user_accounted_for(tally))
    yield dg.Output(joined.drop(columns=PII_COLUMNS), metadata={
        "dagster/row_count": len(joined),
        "expected_count": config.expected_count,
        "with_office_assignment": int(joined["has_office_assignment"].sum()),
        "with_settings": int(joined["has_settings"].sum()),
        "deduplicated_by_name": int((joined["deduplication_method"] == "name_fallback").sum()),
        "source_users": tally.source_users,
        "accounting": dg.MetadataValue.json(tally.rows()),
        "accounting_table": dg.MetadataValue.md(markdown_table(["outcome", "users"], tally.rows())),
    })
    for gate in gates:
        yield gate_check_result(gate)


@dg.asset(group_name=GROUP, kinds={"pandas"})
@fails_with_reason
def doctor_rows(clean_doctors: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Steps 2.2 and 2.3: one doctors row per clean doctor, with its migration metadata."""
    rows = build_doctor_rows(clean_doctors, datetime.now(timezone.utc).date())
    preview = rows[["legacy_user_id", "doctor_number", "years_experience", "licensed_since"]]
    return dg.Output(rows, metadata={
        "dagster/row_count": len(rows),
        "preview": dg.MetadataValue.md(markdown_table(
            list(preview.columns), preview.head(10).values.tolist())),
    })


@dg.asset(group_name=GROUP, kinds={"postgres"})
@fails_with_reason
def loaded_doctors(context: dg.AssetExecutionContext, config: LoadConfig,
                   target: PostgresResource, doctor_rows: pd.DataFrame) -> dg.Output[LoadResult]:
    """Steps 2.2-3.4 in one target transaction: insert, update in place, delete the no longer
    clean, validate, record in the ledger; all or nothing."""
    with target.connect() as conn:
        # Before the load, so that giving up on it (see create_legacy_id_index) changes nothing.
        if (config.create_indexes and not config.dry_run
                and timings.legacy_id_index(conn) is None):
            context.log.info("creating " + timings.INDEX_ADVICE)
            timings.create_legacy_id_index(conn, config.lock_timeout)
        with locks.naming_blockers(conn, "target", LOAD_TABLES, config.lock_timeout):
            result = load_doctors(
                conn, doctor_rows, run_id=context.run.run_id,
                # The blocking count gate upstream made the clean count the expected one.
                expected_count=len(doctor_rows), dry_run=config.dry_run,
                timeouts=Timeouts(lock_timeout=config.lock_timeout),
            )
        index = timings.legacy_id_index(conn)
    return dg.Output(result, metadata={
        "legacy_id_index": index or "none",
        "dry_run": result.dry_run,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "rows_written": 0 if result.dry_run else result.written,
        "load_seconds": round(result.seconds, 3),
        "ledger_run_id": result.run_id,
    })


def _run_checks(instance: dg.DagsterInstance, run_id: str) -> tuple[list[dict], list[dict]]:
    """Every check evaluated in the run, and step 4's timings among them."""
    checks, step4 = [], []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data
        meta = {k: v.value for k, v in evaluation.metadata.items()}
        checks.append({
            "asset": evaluation.asset_key.to_user_string(),
            "check": evaluation.check_name,
            "passed": evaluation.passed,
            "severity": evaluation.severity.value,
            "summary": meta.get("summary", ""),
        })
        if "execution_ms" in meta:
            step4.append({k: meta[k] for k in ("step", "planning_ms", "execution_ms",
                                                "threshold_ms", "node_types")}
                         | {"name": evaluation.check_name})
    return checks, sorted(step4, key=lambda t: t["step"])


def _run_materialization(instance: dg.DagsterInstance, run_id: str, asset: str) -> dict:
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in materialization.metadata.items()}
    return {}


@dg.asset(group_name=GROUP, kinds={"markdown"}, deps=[clean_doctors])
@fails_with_reason
def validation_report(context: dg.AssetExecutionContext,
                      loaded_doctors: LoadResult) -> dg.MaterializeResult:
    """The document for the operator: counts, the accounting of every source user, every
    check of the run, step 4's timings and the ledger entry."""
    run_id = context.run.run_id
    checks, step4 = _run_checks(context.instance, run_id)
    selection_meta = _run_materialization(context.instance, run_id, "clean_doctors")
    load_meta = _run_materialization(context.instance, run_id, "loaded_doctors")
    index = load_meta.get("legacy_id_index")
    report = build_report(
        loaded_doctors,
        accounting=selection_meta.get("accounting"),
        checks=checks,
        timings=step4,
        legacy_id_index=None if index in (None, "none") else index,
    )
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.md(render_markdown(report)),
        "report_json": dg.MetadataValue.json(report),
        "all_checks_passed": report["all_checks_passed"],
    })
