"""The migration plan as five assets:
profile_coverage -> clean_doctors -> doctor_rows -> loaded_doctors -> validation_report.

The first three are tables of the command's stage in the target's doctor_migration schema
(migration/stage.py), loaded_doctors is public.doctors, validation_report the document. Steps
pass nothing but the stage id (the run id): every step opens its own connections, so any
executor runs the job, and no row of data passes through Dagster's storage.
"""

import dagster as dg

from doctor_migration.defs import sources
from doctor_migration.defs.checks import (
    CLEAN_DOCTOR_CHECKS,
    SHOWN,
    gate_check_result,
    load_summary,
    run_materialization,
    warning_check_result,
)
from doctor_migration.defs.config import LoadConfig, LockConfig, SelectionConfig
from doctor_migration.defs.failures import fails_with_reason
from doctor_migration.defs.jobs import PLAN_JOB
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration import accounting, locks, preflight, stage, timings
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.gates import evaluate_gates
from doctor_migration.migration.load import load_doctors
from doctor_migration.migration.mapping import MAPPED_COLUMNS, RULES
from doctor_migration.migration.report import build_report, markdown_table, render_markdown
from doctor_migration.migration.target import LOAD_TABLES, Timeouts

GROUP = "doctor_migration"

PROFILE_COVERAGE_COLUMNS = [
    ("run_id", "text", "the command (Dagster run id) whose stage this row belongs to"),
    ("profile_id", "uuid", "profiles.id"),
    ("legacy_user_id", "bigint", "profiles.legacy_user_id: the source's auth_user.id"),
    ("first_name", "text", "profiles.first_name (personal data)"),
    ("last_name", "text", "profiles.last_name (personal data)"),
    ("email", "text", "profiles.email (personal data)"),
]
CLEAN_DOCTOR_COLUMNS = [
    ("run_id", "text", "the command (Dagster run id) whose stage this row belongs to"),
    ("user_id", "bigint", "auth_user.id"),
    ("first_name", "text", "auth_user.first_name (personal data)"),
    ("last_name", "text", "auth_user.last_name (personal data)"),
    ("email", "text", "auth_user.email (personal data)"),
    ("username", "text", "auth_user.username (personal data)"),
    ("is_active", "boolean", "auth_user.is_active"),
    ("date_joined", "timestamptz", "auth_user.date_joined"),
    ("last_login", "timestamptz", "auth_user.last_login"),
    ("patient_count", "bigint", "patients with archived false or NULL"),
    ("has_office_assignment", "boolean", "a dispatch_office_doctors row exists"),
    ("has_settings", "boolean", "a dispatch_usersetting row exists"),
]
# doctor_rows' types, as create_stage.sql declares them.
DOCTOR_ROW_TYPES = {
    "legacy_user_id": "bigint", "profile_id": "uuid", "doctor_id": "bigint",
    "years_experience": "integer", "max_patient_load": "integer",
    "consultation_duration_minutes": "integer", "follow_up_duration_minutes": "integer",
    "consultation_fee": "numeric", "licensed_since": "date", "joined_practice_at": "timestamptz",
    "legacy_doctor_id": "bigint", "is_accepting_patients": "boolean",
    "accepts_insurance": "boolean",
    **dict.fromkeys(["board_certifications", "education", "specialties", "languages_spoken",
                     "professional_memberships", "working_hours", "payment_terms",
                     "migration_metadata"], "jsonb"),
}
DOCTOR_ROW_COLUMNS = [
    ("run_id", "text", "the command (Dagster run id) whose stage this row belongs to"),
    *[(name, DOCTOR_ROW_TYPES.get(name, "text"), f"step 2.2: {RULES[name]}")
      for name in MAPPED_COLUMNS],
]


def stage_id(context: dg.AssetExecutionContext) -> str:
    """The command's stage: its run id (a re-execution keeps its root run's stage)."""
    return context.run.root_run_id or context.run.run_id


def is_dry_run(context: dg.AssetExecutionContext) -> bool:
    """Whether the command is a dry run: a plan job always is, whatever its launchpad left of
    the config (a loaded_doctors config without dry_run would otherwise load for real)."""
    ops = (context.run.run_config or {}).get("ops") or {}
    load = (ops.get("loaded_doctors") or {}).get("config") or {}
    return context.run.job_name == PLAN_JOB or bool(load.get("dry_run"))


def command(context: dg.AssetExecutionContext) -> str:
    """"plan" when the run's load is a dry run, else "run": whose stage the command replaces."""
    return "plan" if is_dry_run(context) else "run"


def table_metadata(name: str, rows: int, columns: list[tuple[str, str, str]],
                   stage: str) -> dict:
    """What the UI shows of a stage table: its name, rows and columns, and how to query it."""
    qualified = f"doctor_migration.{name}"
    return {
        "dagster/table_name": qualified,
        "dagster/row_count": rows,
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(column, kind, description=text) for column, kind, text in columns]),
        "query": dg.MetadataValue.md(
            f"`SELECT * FROM {qualified} WHERE run_id = '{stage}'`"),
    }


@dg.asset(group_name=GROUP, kinds={"postgres"}, deps=[sources.profiles])
@fails_with_reason
def profile_coverage(context: dg.AssetExecutionContext, config: LockConfig,
                     target: PostgresResource) -> dg.MaterializeResult:
    """Phase 1 of the plan: the doctor profiles the profile migration left in the target,
    copied into the command's stage, after a preflight of every grant, column and policy the
    run will need there."""
    timeouts = Timeouts(lock_timeout=config.lock_timeout)
    sid, what = stage_id(context), command(context)
    with target.connect() as conn:
        preflight.check_target(conn, config.lock_timeout)
        stage.start(conn, sid, what, timeouts)
        with stage.transaction(conn, sid, what, timeouts):
            profiles, users, several = stage.profile_coverage_summary(conn, sid)
    return dg.MaterializeResult(metadata={
        **table_metadata("profile_coverage", profiles, PROFILE_COVERAGE_COLUMNS, sid),
        "legacy_users_with_a_profile": users,
        "legacy_users_with_several_profiles": len(several),
        "several_profiles_legacy_ids": dg.MetadataValue.json(several[:SHOWN]),
    })


@dg.asset(group_name=GROUP, kinds={"postgres"}, check_specs=CLEAN_DOCTOR_CHECKS,
          deps=[profile_coverage, *sources.LEGACY_TABLES])
@fails_with_reason
def clean_doctors(context: dg.AssetExecutionContext, config: SelectionConfig,
                  source: PostgresResource, target: PostgresResource):
    """Step 1.1 of the plan on the source, streamed into the command's stage with every source
    user's outcome from the same snapshot; gated by step 1.3."""
    timeouts = Timeouts(lock_timeout=config.lock_timeout)
    sid, what = stage_id(context), command(context)
    with source.connect() as conn:
        preflight.check_source(conn, config.lock_timeout)
    stage.stage_source(source.connect, target.connect, sid, what, timeouts)
    with target.connect() as conn, stage.transaction(conn, sid, what, timeouts):
        gates = evaluate_gates(conn, sid, config.expected_count)
        tally = accounting.tally(conn, sid)
        merges = accounting.blank_email_merges(conn, sid)
        cur = conn.execute(load_sql("select_clean_doctor_summary"), {"run_id": sid})
        summary = dict(zip([d.name for d in cur.description], cur.fetchone()))
    gates.append(accounting.every_source_user_accounted_for(tally))
    yield dg.MaterializeResult(metadata={
        **table_metadata("clean_doctors", summary["clean_doctors"], CLEAN_DOCTOR_COLUMNS, sid),
        "expected_count": config.expected_count,
        "with_office_assignment": summary["with_office_assignment"],
        "with_settings": summary["with_settings"],
        "deduplicated_by_name": summary["deduplicated_by_name"],
        "source_users": tally.source_users,
        "source_users_table": "doctor_migration.source_users",
        "accounting": dg.MetadataValue.json(tally.rows()),
        "accounting_table": dg.MetadataValue.md(markdown_table(["outcome", "users"], tally.rows())),
    })
    for gate in gates:
        yield gate_check_result(gate)
    yield warning_check_result(accounting.no_users_merged_under_a_blank_email(merges))


@dg.asset(group_name=GROUP, kinds={"postgres"}, deps=[clean_doctors])
@fails_with_reason
def doctor_rows(context: dg.AssetExecutionContext, config: LockConfig,
                target: PostgresResource) -> dg.MaterializeResult:
    """Steps 2.2 and 2.3 in SQL: one doctors row per clean doctor, with its migration metadata,
    in the command's stage."""
    timeouts = Timeouts(lock_timeout=config.lock_timeout)
    sid, what = stage_id(context), command(context)
    with target.connect() as conn, stage.transaction(conn, sid, what, timeouts):
        rows = stage.map_doctor_rows(conn, sid)
        preview = conn.execute(load_sql("select_doctor_rows_preview"),
                               {"run_id": sid, "limit": 10}).fetchall()
    return dg.MaterializeResult(metadata={
        **table_metadata("doctor_rows", rows, DOCTOR_ROW_COLUMNS, sid),
        "preview": dg.MetadataValue.md(markdown_table(
            ["legacy_user_id", "doctor_number", "years_experience", "licensed_since"],
            [list(r) for r in preview])),
    })


@dg.asset(group_name=GROUP, kinds={"postgres"}, deps=[doctor_rows])
@fails_with_reason
def loaded_doctors(context: dg.AssetExecutionContext, config: LoadConfig,
                   target: PostgresResource) -> dg.MaterializeResult:
    """Steps 2.2-3.4 in one target transaction: insert, update in place, delete the no longer
    clean, validate, record in the ledger; all or nothing."""
    dry_run = is_dry_run(context)
    with target.connect() as conn:
        # Before the load, so that giving up on it (see create_legacy_id_index) changes nothing.
        if (config.create_indexes and not dry_run
                and timings.legacy_id_index(conn) is None):
            context.log.info("creating " + timings.INDEX_ADVICE)
            timings.create_legacy_id_index(conn, config.lock_timeout)
        with locks.naming_blockers(conn, "target", LOAD_TABLES, config.lock_timeout):
            result = load_doctors(
                conn, stage_id(context), run_id=context.run.run_id, dry_run=dry_run,
                timeouts=Timeouts(lock_timeout=config.lock_timeout),
            )
        index = timings.legacy_id_index(conn)
    return dg.MaterializeResult(metadata={
        "dagster/table_name": "public.doctors",
        "dagster/row_count": result.clean_count,
        "dagster/column_schema": dg.TableSchema(columns=[
            dg.TableColumn(name, kind, description=text)
            for name, kind, text in DOCTOR_ROW_COLUMNS[1:]]),
        "legacy_id_index": index or "none",
        "dry_run": result.dry_run,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "rows_written": 0 if result.dry_run else result.written,
        "load_seconds": round(result.seconds, 3),
        "ledger_run_id": result.run_id,
        "lock_timeout": config.lock_timeout,
        "load_result": dg.MetadataValue.json(result.to_json()),
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


@dg.asset(group_name=GROUP, kinds={"markdown"}, deps=[clean_doctors, loaded_doctors])
@fails_with_reason
def validation_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The document for the operator: counts, the accounting of every source user, every
    check of the run, step 4's timings and the ledger entry."""
    run_id = context.run.run_id
    checks, step4 = _run_checks(context.instance, run_id)
    selection_meta = run_materialization(context.instance, run_id, "clean_doctors")
    load_meta = run_materialization(context.instance, run_id, "loaded_doctors")
    index = load_meta.get("legacy_id_index")
    report = build_report(
        load_summary(context.instance, run_id)[0],
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
