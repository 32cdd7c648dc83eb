"""The dry run (`doctor-migration plan`) as a job of ops, not of the migration's assets.

Its ops call the very step functions the assets and checks call (defs/assets.py,
defs/checks.py), under the same names, so a dry run does exactly what a run does up to the
load's rollback and reports the same way. But it materializes nothing and evaluates no asset
check: it records what it found as an AssetObservation of the real asset, marked dry run, and
a stop condition fails its op. So a dry run never turns a real asset's check red or leaves a
materialization of loaded_doctors a reader could take for a load, and the catalog's latest
materializations and check results stay those of the last real run."""

from collections.abc import Iterator

import dagster as dg

from doctor_migration.defs.assets import (
    load,
    report_metadata,
    stage_clean_doctors,
    stage_doctor_rows,
    stage_profile_coverage,
)
from doctor_migration.defs.checks import (
    CHECK_RESULTS,
    gate_check_result,
    load_check_results,
    result_entry,
    timing_results,
)
from doctor_migration.defs.config import MigrationSettings, migration_run_config
from doctor_migration.defs.failures import failure_for_checks, fails_with_reason
from doctor_migration.defs.jobs import DRY_RUN_JOB
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration.target import Timeouts

DRY_RUN_NOTE = ("Dry run (dry_run_doctor_migration): what a run would do now; "
                "nothing was written.")
# The order of the steps, as the migration's assets run them.
AFTER = {"after": dg.In(dg.Nothing)}
DONE = dg.Out(dg.Nothing)


def _observe(asset: str, metadata: dict,
             results: list[dg.AssetCheckResult] = ()) -> Iterator[dg.AssetObservation]:
    """What the step found, as an observation of the real asset marked dry run, with the
    results of the checks the step evaluates; then the step's failure if a check that would
    stop a run failed.

    Dagster's own table keys (dagster/row_count, ...) are left out: they describe the asset
    as materialized, which a dry run leaves as it was."""
    observed = {"dry_run": True}
    observed |= {key: value for key, value in metadata.items()
                 if not key.startswith("dagster/")}
    if "dagster/row_count" in metadata:
        observed["rows"] = metadata["dagster/row_count"]
    if results:
        observed["checks"] = dg.MetadataValue.table(
            records=[dg.TableRecord({
                "check": r.check_name,
                "result": "passed" if r.passed else (
                    "warning" if r.severity == dg.AssetCheckSeverity.WARN else "FAILED"),
                "summary": r.description or ""}) for r in results],
            schema=dg.TableSchema(columns=[dg.TableColumn("check", "text"),
                                           dg.TableColumn("result", "text"),
                                           dg.TableColumn("summary", "text")]))
        # The report's source (runner.py, report_metadata): the same entries a run's check
        # evaluations give.
        observed[CHECK_RESULTS] = dg.MetadataValue.json([result_entry(r) for r in results])
        # The evidence of each failed check: its tables of offenders.
        observed |= {f"{r.check_name}/{key}": value for r in results if not r.passed
                     for key, value in r.metadata.items()
                     if isinstance(value, dg.TableMetadataValue)}
    yield dg.AssetObservation(asset_key=asset, description=DRY_RUN_NOTE, metadata=observed)
    failed = [r for r in results
              if not r.passed and r.severity == dg.AssetCheckSeverity.ERROR]
    if failed:
        raise failure_for_checks(failed)


@dg.op(out=DONE, description="Preflight the target and stage the doctor profiles.")
@fails_with_reason
def dry_run_profile_coverage(context: dg.OpExecutionContext, settings: MigrationSettings,
                             target: PostgresResource):
    yield from _observe("profile_coverage", stage_profile_coverage(context, settings, target))
    yield dg.Output(None)


@dg.op(ins=AFTER, out=DONE, description="Stage the clean doctors; the step 1.3 gates.")
@fails_with_reason
def dry_run_clean_doctors(context: dg.OpExecutionContext, settings: MigrationSettings,
                          source: PostgresResource, target: PostgresResource):
    metadata, gates, observed = stage_clean_doctors(context, settings, source, target)
    yield from observed  # the source's row counts: true whatever the run
    yield from _observe("clean_doctors", metadata, [gate_check_result(g) for g in gates])
    yield dg.Output(None)


@dg.op(ins=AFTER, out=DONE, description="Map the clean doctors to doctors rows in the stage.")
@fails_with_reason
def dry_run_doctor_rows(context: dg.OpExecutionContext, settings: MigrationSettings,
                        target: PostgresResource):
    yield from _observe("doctor_rows", stage_doctor_rows(context, settings, target))
    yield dg.Output(None)


@dg.op(ins=AFTER, out=DONE, description="The whole load, validated, then rolled back; "
                                        "steps 4.1 and 4.2 on the target as it is.")
@fails_with_reason
def dry_run_loaded_doctors(context: dg.OpExecutionContext, settings: MigrationSettings,
                           target: PostgresResource):
    metadata, result = load(context, settings, target, dry_run=True)
    timed = timing_results(result.lookup_legacy_id, Timeouts(lock_timeout=settings.lock_timeout),
                           target)
    yield from _observe("loaded_doctors", metadata, [*load_check_results(result), *timed])
    yield dg.Output(None)


@dg.op(ins=AFTER, out=DONE,
       description="The report of what a run would do, observed on validation_report.")
@fails_with_reason
def dry_run_report(context: dg.OpExecutionContext):
    yield from _observe("validation_report", report_metadata(context))
    yield dg.Output(None)


@dg.job(name=DRY_RUN_JOB, executor_def=dg.in_process_executor,
        config=migration_run_config(dry_run=True),
        description="Dry run (`doctor-migration plan`): every gate and the whole load, rolled "
                    "back; reports what a run would do. Records observations marked dry run, "
                    "no materialization and no check result.")
def dry_run_doctor_migration():
    # Each op under its asset's (or check's) name: the launchpad's config, the steps of the
    # run page and the report's "stopped at" read as in a run.
    staged = dry_run_doctor_rows.alias("doctor_rows")(
        dry_run_clean_doctors.alias("clean_doctors")(
            dry_run_profile_coverage.alias("profile_coverage")()))
    dry_run_report.alias("validation_report")(
        dry_run_loaded_doctors.alias("loaded_doctors")(staged))
