"""The daily dry run of the migration at 06:00 UTC that records the drift."""

from datetime import UTC, datetime

import dagster as dg

from doctor_migration.definitions import defs
from doctor_migration.defs.schedules import dry_run_doctor_migration_daily
from doctor_migration_tests.helpers import snapshot


def test_launches_the_dry_run_daily_at_six_utc():
    assert dry_run_doctor_migration_daily.job_name == "dry_run_doctor_migration"
    assert dry_run_doctor_migration_daily.cron_schedule == "0 6 * * *"
    assert dry_run_doctor_migration_daily.execution_timezone == "UTC"
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 2, 6, tzinfo=UTC))
    [request] = dry_run_doctor_migration_daily.evaluate_tick(context).run_requests
    assert not request.run_config  # the job's own config: dry_run=True


def test_the_scheduled_run_records_drift_and_writes_nothing(dbs):
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 3, 2, 6, tzinfo=UTC))
    [request] = dry_run_doctor_migration_daily.evaluate_tick(context).run_requests
    before = snapshot(dbs.target_url)
    job = defs.resolve_job_def(dry_run_doctor_migration_daily.job_name)
    result = job.execute_in_process(
        run_config=request.run_config or None, tags=request.tags,
        instance=dg.DagsterInstance.get())
    assert result.success
    # Observed, not materialized: the catalog's latest materialization stays the last load's.
    assert result.get_asset_materialization_events() == []
    [loaded] = result.asset_observations_for_node("loaded_doctors")
    drift = {k: v.value for k, v in loaded.metadata.items()}
    assert drift["dry_run"] is True
    assert (drift["inserted"], drift["updated"], drift["deleted"]) == (399, 0, 0)
    assert snapshot(dbs.target_url) == before
