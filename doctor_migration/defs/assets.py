"""The migration plan as five assets:
profile_coverage -> clean_doctors -> doctor_rows -> loaded_doctors -> validation_report.

The first three are tables of the command's stage in the target's doctor_migration schema
(migration/stage.py), loaded_doctors is public.doctors, validation_report the document. Steps
pass nothing but the stage id (the run id): every step opens its own connections, so any
executor runs the job, and no row of data passes through Dagster's storage.
"""

from datetime import datetime, timezone

import dagster as dg

from doctor_migration.defs import catalog, sources
from doctor_migration.defs.checks import (
    CHECK_RESULTS,
    CLEAN_DOCTOR_CHECKS,
    LOADED_DOCTOR_CHECKS,
    SHOWN,
    accounting_table,
    checks_alone,
    evaluation_entry,
    gate_check_result,
    id_table,
    load_check_results,
    load_summary,
    run_record,
    table_rows,
    timing_results,
)
from doctor_migration.defs.config import LoadConfig, MigrationSettings
from doctor_migration.defs.failures import fails_with_reason
from doctor_migration.defs.jobs import DRY_RUN_JOB
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration import accounting, locks, preflight, seal, stage, timings
from doctor_migration.migration.db import load_sql, location
from doctor_migration.migration.errors import MigrationError
from doctor_migration.migration.gates import Evaluation, GateResult, evaluate
from doctor_migration.migration.load import LoadResult, load_doctors
from doctor_migration.migration.mapping import MAPPED_COLUMNS, RULES
from doctor_migration.migration.report import build_report, render_markdown
from doctor_migration.migration.target import LOAD_TABLES, Timeouts
from doctor_migration.names import TARGET_TAG

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
# public.doctors as the load writes it: the columns it writes or relies on
# (preflight.DOCTOR_COLUMNS), a mapped one as doctor_rows describes it.
_DOCTOR_COLUMN_TYPES = {name: (kind, text) for name, kind, text in DOCTOR_ROW_COLUMNS} | {
    "id": ("uuid", "the doctor's id: kept when a run updates the row"),
    "updated_at": ("timestamptz", "when the row was last written"),
}
LOADED_DOCTOR_COLUMNS = [(name, *_DOCTOR_COLUMN_TYPES[name]) for name in preflight.DOCTOR_COLUMNS]


def stage_table(name: str, columns: catalog.Columns) -> dict:
    """The definition metadata of a stage table in the target's doctor_migration schema."""
    return catalog.table(f"doctor_migration.{name}", columns)


def stage_id(context: dg.OpExecutionContext) -> str:
    """The command's stage: its run id (a re-execution keeps its root run's stage)."""
    return context.run.root_run_id or context.run.run_id


def claim(context: dg.OpExecutionContext) -> stage.Claim:
    """The step's run as the user of its stage; another run is in the way while Dagster says
    it has not ended."""
    instance = context.instance

    def running(run_id: str) -> str | None:
        run = instance.get_run_by_id(run_id)
        return None if run is None or run.is_finished else run.status.value

    return stage.Claim(context.run.run_id, running)


# The metadata key of a stage table's seal (migration/seal.py), and of when the source was read.
SEAL = "seal"
SOURCE_SNAPSHOT_AT = "source_snapshot_at"


def sealed(context: dg.OpExecutionContext, asset: str) -> tuple[dict, str]:
    """What this run, or the run it re-executes (and so on up), recorded of `asset` with its
    seal: the metadata values and the run that recorded them. A launch of a step without the
    steps that fill its stage finds none and is refused."""
    run = context.run
    while run is not None:
        record = run_record(context.instance, run.run_id, asset)
        if SEAL in record:
            return record, run.run_id
        run = context.instance.get_run_by_id(run.parent_run_id) if run.parent_run_id else None
    step = getattr(context, "op_execution_context", context).op.name
    raise MigrationError(
        f"{step} cannot run without the steps before it: it uses the {asset} that "
        "its run staged and sealed, and neither this run nor a run it re-executes staged any. "
        "The migration's steps run together: launch them together (Materialize all, or the "
        "job migrate_doctors); nothing was changed")


def seals(record: dict) -> list[seal.Seal]:
    """The seals recorded in a step's metadata values."""
    return [seal.Seal.from_json(values) for values in record[SEAL]]


def command(context: dg.OpExecutionContext) -> str:
    """"plan" in the dry-run job, else "run": whose stage the command replaces."""
    return "plan" if context.run.job_name == DRY_RUN_JOB else "run"


def table_metadata(name: str, rows: int, stage: str) -> dict:
    """What a command staged in a stage table (its name and columns are on the definition):
    its rows, and how to query them."""
    return {
        "dagster/row_count": rows,
        "query": dg.MetadataValue.md(
            f"`SELECT * FROM doctor_migration.{name} WHERE run_id = '{stage}'`"),
    }


# How each legacy table's row count was had (the row_count_source of its observation).
COUNTED = "count(*) in the source snapshot step 1.1 read (the accounting's source_users)"
ESTIMATED = "estimate: pg_class.reltuples, as of the table's last VACUUM or ANALYZE"
NOT_ESTIMATED = "unknown: the catalog has no estimate (never vacuumed or analyzed)"


def source_observations(source_users: int,
                        estimates: dict[str, int | None]) -> list[dg.AssetObservation]:
    """The legacy tables' row counts as the clean_doctors step found them: auth_user's
    counted (every source user), the others' estimated from the source's catalog."""
    observed = []
    for spec in sources.LEGACY_TABLES:
        counted = spec.key == sources.auth_user.key
        rows = source_users if counted else estimates.get(spec.key.to_user_string())
        observed.append(dg.AssetObservation(asset_key=spec.key, metadata={
            **({"dagster/row_count": rows} if rows is not None else {}),
            "row_count_is_estimate": not counted,
            "row_count_source": COUNTED if counted else (
                ESTIMATED if rows is not None else NOT_ESTIMATED),
        }))
    return observed


# The steps, as plain functions: the assets below and the dry run's ops (defs/dry_run.py) call
# them, so that a dry run does exactly what a run does up to the load's rollback.

def stage_profile_coverage(context: dg.OpExecutionContext, settings: MigrationSettings,
                           target: PostgresResource) -> dict:
    """Preflight the target (its warnings logged), start the command's stage and copy the doctor
    profiles into it; the metadata of what it staged, with the preflight's warnings."""
    timeouts = Timeouts(lock_timeout=settings.lock_timeout)
    sid, what = stage_id(context), command(context)
    # Which target the run is against (host:port/db, no user or password), whoever launched
    # it: `report` shows the newest run against the current target by this tag.
    if target.url:  # without one, connecting says so
        context.instance.add_run_tags(context.run.run_id, {TARGET_TAG: location(target.url)})
    with target.connect() as conn:
        warnings = preflight.check_target(conn, settings.lock_timeout)
        for warning in warnings:
            context.log.warning(warning)
        stage.start(conn, sid, what, timeouts, claim(context))
        with stage.transaction(conn, sid, what, timeouts, claim=claim(context)):
            profiles, users, several = stage.profile_coverage_summary(conn, sid)
    return {
        **({"preflight_warnings": "\n".join(warnings)} if warnings else {}),
        **table_metadata("profile_coverage", profiles, sid),
        "legacy_users_with_a_profile": users,
        "legacy_users_with_several_profiles": len(several),
        "several_profiles_legacy_ids": id_table(several[:SHOWN]),
    }


def stage_clean_doctors(
        context: dg.OpExecutionContext, settings: MigrationSettings, source: PostgresResource,
        target: PostgresResource) -> tuple[dict, list[GateResult], list[dg.AssetObservation]]:
    """Select the clean doctors into the stage with every source user's outcome; the metadata
    of what it staged, the step 1.3 gates evaluated on it, and the legacy tables' row counts."""
    timeouts = Timeouts(lock_timeout=settings.lock_timeout)
    sid, what = stage_id(context), command(context)
    # In one source transaction whose start waits at most the lock timeout (a pooler with no
    # free server connection would keep it waiting).
    with source.connect(settings.lock_timeout) as conn, \
            stage.source_transaction(conn, settings.lock_timeout):
        preflight.check_source(conn, settings.lock_timeout)
        estimates = preflight.estimated_rows(conn)
    read_at = datetime.now(timezone.utc)

    def gated() -> tuple[Evaluation, list[seal.Seal]]:
        """The gates and the seals of what they passed, in one snapshot of the stage."""
        with target.connect() as conn, stage.transaction(conn, sid, what, timeouts,
                                                         claim=claim(context),
                                                         repeatable_read=True):
            return (evaluate(conn, sid, settings.expected_count),
                    [seal.take(conn, name, sid, context.run.run_id)
                     for name in ("profile_coverage", "clean_doctors")])

    # The gates while the accounting is still read; then the accounting, held against the
    # clean doctors in a later snapshot: any write to them in between breaks their seal.
    evaluated, passed = stage.stage_source(source.connect, target.connect, sid, what, timeouts,
                                           staged=gated)
    with target.connect() as conn, stage.transaction(conn, sid, what, timeouts,
                                                     claim=claim(context),
                                                     repeatable_read=True):
        tally = accounting.tally(conn, sid)
        merges = accounting.blank_email_merges(conn, sid)
    gates, summary = evaluated.gates, evaluated.summary
    gates.append(accounting.every_source_user_accounted_for(tally))
    # Evaluated here with the gates, so a stopped run still reports it.
    gates.append(accounting.no_users_merged_under_a_blank_email(merges))
    return {
        **table_metadata("clean_doctors", summary["clean_doctors"], sid),
        "expected_count": settings.expected_count,
        "with_office_assignment": summary["with_office_assignment"],
        "with_settings": summary["with_settings"],
        "deduplicated_by_name": summary["deduplicated_by_name"],
        "source_users": tally.source_users,
        "source_users_table": "doctor_migration.source_users",
        "accounting": accounting_table(tally.rows()),
        SOURCE_SNAPSHOT_AT: read_at.isoformat(timespec="seconds"),
        SEAL: dg.MetadataValue.json([s.to_json() for s in passed]),
    }, gates, source_observations(tally.source_users, estimates)


def stage_doctor_rows(context: dg.OpExecutionContext, settings: MigrationSettings,
                      target: PostgresResource) -> dict:
    """Map the clean doctors to doctors rows in the stage; the metadata of what it staged."""
    timeouts = Timeouts(lock_timeout=settings.lock_timeout)
    sid, what = stage_id(context), command(context)
    checked, _ = sealed(context, "clean_doctors")
    with target.connect() as conn, stage.transaction(conn, sid, what, timeouts,
                                                     claim=claim(context),
                                                     repeatable_read=True):
        rows, mapped = stage.map_doctor_rows(conn, sid, seals(checked), context.run.run_id)
        preview = conn.execute(load_sql("select_doctor_rows_preview"),
                               {"run_id": sid, "limit": 10}).fetchall()
    columns = ["legacy_user_id", "doctor_number", "years_experience", "licensed_since"]
    return {
        **table_metadata("doctor_rows", rows, sid),
        SEAL: dg.MetadataValue.json([mapped.to_json()]),
        "preview": dg.MetadataValue.table(
            records=[dg.TableRecord(dict(zip(columns, map(_scalar, row)))) for row in preview],
            schema=dg.TableSchema(columns=[
                dg.TableColumn(name, DOCTOR_ROW_TYPES.get(name, "text")) for name in columns])),
    }


def load(context: dg.OpExecutionContext, settings: MigrationSettings,
         target: PostgresResource, *, dry_run: bool,
         create_indexes: bool = False) -> tuple[dict, LoadResult]:
    """The load of the stage's doctor_rows into public.doctors (rolled back for a dry run), as
    the doctor_rows step sealed them, its checks evaluated before its COMMIT; the metadata of
    what it did, or would do, and its result."""
    mapped, _ = sealed(context, "doctor_rows")
    selected, read_by = sealed(context, "clean_doctors")
    snapshot = {SOURCE_SNAPSHOT_AT: selected.get(SOURCE_SNAPSHOT_AT, "")}
    reused = None
    with target.connect() as conn:
        if read_by != context.run.run_id:
            age = seal.snapshot_age(conn, snapshot[SOURCE_SNAPSHOT_AT],
                                   settings.max_snapshot_age)
            snapshot["source_snapshot_age_minutes"] = round(age / 60, 1)
            reused = {"read_by": read_by, "taken_at": snapshot[SOURCE_SNAPSHOT_AT],
                      "age_minutes": snapshot["source_snapshot_age_minutes"]}
            context.log.info(
                f"re-executing run {read_by}: migrating the source as it read it at "
                f"{snapshot[SOURCE_SNAPSHOT_AT]}, {age / 60:.0f} min ago")
        # Before the load, so that giving up on it (see create_legacy_id_index) changes nothing.
        if create_indexes and not dry_run and timings.legacy_id_index(conn) is None:
            context.log.info("creating " + timings.INDEX_ADVICE)
            timings.create_legacy_id_index(conn, settings.lock_timeout)
        with locks.naming_blockers(conn, "target", LOAD_TABLES, settings.lock_timeout):
            result = load_doctors(
                conn, stage_id(context), run_id=context.run.run_id, dry_run=dry_run,
                sealed=seals(mapped)[0], expected_count=settings.expected_count,
                max_deletes=settings.max_deletes, claim=claim(context),
                timeouts=Timeouts(lock_timeout=settings.lock_timeout),
            )
        result.source_snapshot = reused
        index = timings.legacy_id_index(conn)
    return {
        # The table's rows, native doctors included; the migrated ones under their own name.
        "dagster/row_count": result.doctors_after,
        "migrated_rows": result.clean_count,
        "legacy_id_index": index or "none",
        "dry_run": result.dry_run,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "delete_limit": result.delete_limit,
        "rows_written": 0 if result.dry_run else result.written,
        "load_seconds": round(result.seconds, 3),
        "ledger_run_id": result.run_id,
        **snapshot,
        "load_result": dg.MetadataValue.json(result.to_json()),
    }, result


def _scalar(value: object) -> object:
    """A value a TableRecord holds: str, int, float or bool (dates as ISO text)."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


# What every asset of the migration shows in the catalog before any run.
CATALOG = {"group_name": GROUP, "owners": catalog.OWNERS, "tags": catalog.TAGS}


@dg.asset(**CATALOG, kinds={"postgres"}, deps=[sources.profiles],
          metadata=stage_table("profile_coverage", PROFILE_COVERAGE_COLUMNS))
@fails_with_reason
def profile_coverage(context: dg.AssetExecutionContext, settings: MigrationSettings,
                     target: PostgresResource) -> dg.MaterializeResult:
    """Phase 1 of the plan: the doctor profiles the profile migration left in the target,
    copied into the command's stage, after a preflight of every grant, column and policy the
    run will need there."""
    return dg.MaterializeResult(metadata=stage_profile_coverage(context, settings, target))


@dg.asset(**CATALOG, kinds={"postgres"}, check_specs=CLEAN_DOCTOR_CHECKS,
          deps=[profile_coverage, *sources.LEGACY_TABLES],
          metadata=stage_table("clean_doctors", CLEAN_DOCTOR_COLUMNS))
@fails_with_reason
def clean_doctors(context: dg.AssetExecutionContext, settings: MigrationSettings,
                  source: PostgresResource, target: PostgresResource):
    """Step 1.1 of the plan on the source, streamed into the command's stage with every source
    user's outcome from the same snapshot; gated by step 1.3."""
    metadata, gates, observed = stage_clean_doctors(context, settings, source, target)
    yield from observed
    yield dg.MaterializeResult(metadata=metadata)
    for gate in gates:
        yield gate_check_result(gate)


@dg.asset(**CATALOG, kinds={"postgres"}, deps=[clean_doctors],
          metadata=stage_table("doctor_rows", DOCTOR_ROW_COLUMNS))
@fails_with_reason
def doctor_rows(context: dg.AssetExecutionContext, settings: MigrationSettings,
                target: PostgresResource) -> dg.MaterializeResult:
    """Steps 2.2 and 2.3 in SQL: one doctors row per clean doctor, with its migration metadata,
    in the command's stage."""
    return dg.MaterializeResult(metadata=stage_doctor_rows(context, settings, target))


LOADED_DOCTORS = dg.AssetSpec(
    "loaded_doctors", **CATALOG, kinds={"postgres"}, deps=[doctor_rows],
    metadata=catalog.table("public.doctors", LOADED_DOCTOR_COLUMNS),
    description="Steps 2.2-3.4 in one target transaction: insert, update in place, delete the "
                "no longer clean, validate, record in the ledger; all or nothing.")


def selected(context: dg.AssetExecutionContext,
             results: list[dg.AssetCheckResult]) -> list[dg.AssetCheckResult]:
    """The results of the checks the launch selected."""
    wanted = {key.name for key in context.selected_asset_check_keys}
    return [result for result in results if result.check_name in wanted]


@dg.multi_asset(name="loaded_doctors", specs=[LOADED_DOCTORS], check_specs=LOADED_DOCTOR_CHECKS,
                can_subset=True)
@fails_with_reason
def loaded_doctors(context: dg.AssetExecutionContext, config: LoadConfig,
                   settings: MigrationSettings, target: PostgresResource):
    """The load, whose checks it evaluated before its COMMIT are reported once it committed,
    then step 4's timings. Its checks executed on their own (without the asset) compare the
    live target with the ledger's newest applied run and write nothing."""
    if LOADED_DOCTORS.key not in context.selected_asset_keys:
        yield from selected(context, checks_alone(settings.lock_timeout, target))
        return
    metadata, result = load(context, settings, target, dry_run=False,
                            create_indexes=config.create_indexes)
    yield dg.MaterializeResult(asset_key=LOADED_DOCTORS.key, metadata=metadata)
    yield from selected(context, load_check_results(result))
    yield from selected(context, timing_results(
        result.lookup_legacy_id, Timeouts(lock_timeout=settings.lock_timeout), target))


def run_checks(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    """Every check of the run, as the report lists it: those evaluated, or in a dry run, those
    its ops recorded in their observations."""
    entries = [evaluation_entry(entry.dagster_event.event_specific_data) for entry in
               instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)]
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION):
        recorded = entry.asset_observation.metadata.get(CHECK_RESULTS)
        entries += recorded.value if recorded else []
    return entries


def report_metadata(context: dg.OpExecutionContext) -> dict:
    """The report of the run (a migration or a dry run) as metadata: the document, its JSON and
    its headline numbers (each plotted over runs in the UI)."""
    run_id = context.run.run_id
    checks = run_checks(context.instance, run_id)
    step4 = sorted((c.pop("timing") for c in checks if "timing" in c), key=lambda t: t["step"])
    selection_meta = run_record(context.instance, run_id, "clean_doctors")
    load_meta = run_record(context.instance, run_id, "loaded_doctors")
    index = load_meta.get("legacy_id_index")
    report = build_report(
        load_summary(context.instance, run_id),
        accounting=table_rows(selection_meta.get("accounting")),
        checks=checks,
        timings=step4,
        legacy_id_index=None if index in (None, "none") else index,
    )
    # Which target the run was against (its first step tagged it).
    report["target"] = context.instance.get_run_by_id(run_id).tags.get(TARGET_TAG)
    return {
        "report": dg.MetadataValue.md(render_markdown(report)),
        "report_json": dg.MetadataValue.json(report),
        **{name: count for name, count in report["counts"].items() if count is not None},
        "checks_passed": sum(c["passed"] for c in checks),
        "checks_failed": sum(not c["passed"] for c in checks),
        "all_checks_passed": report["all_checks_passed"],
        "load_seconds": report["load_seconds"],
    }


@dg.asset(**CATALOG, kinds={"markdown"}, deps=[clean_doctors, loaded_doctors])
@fails_with_reason
def validation_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The document for the operator: counts, the accounting of every source user, every
    check of the run, step 4's timings and the ledger entry."""
    return dg.MaterializeResult(metadata=report_metadata(context))
