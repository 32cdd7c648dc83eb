"""A dry run (`doctor-migration plan`, the job dry_run_doctor_migration) leaves the asset
catalog as the last real run left it: no materialization, no check result; what it found is
an observation of each real asset, marked dry run."""

import dagster as dg
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecordStatus,
)

from doctor_migration import runner
from doctor_migration.defs.checks import table_rows
from doctor_migration.names import EXIT_STOPPED
from doctor_migration_tests.helpers import migrate

ASSETS = ["profile_coverage", "clean_doctors", "doctor_rows", "loaded_doctors",
          "validation_report"]


def catalog(instance: dg.DagsterInstance) -> dict:
    """Each asset's latest materialization (its storage id) and each check's latest
    execution (its run and status), as the catalog shows them."""
    latest = {}
    for name in ASSETS:
        key = dg.AssetKey(name)
        event = instance.get_latest_materialization_event(key)
        latest[name] = (event.run_id, event.timestamp) if event else None
    checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        list(dg.AssetCheckKey(dg.AssetKey(a), c) for a, c in CHECKS))
    latest |= {f"{k.asset_key.to_user_string()}:{k.name}": (r.run_id, r.status)
               for k, r in checks.items()}
    return latest


CHECKS = [("clean_doctors", "clean_doctor_count_is_expected"),
          ("clean_doctors", "every_clean_doctor_has_one_profile"),
          ("loaded_doctors", "migrated_doctor_count_is_expected"),
          ("loaded_doctors", "migrated_rows_match_mapping")]


def test_a_dry_run_passing_or_failing_leaves_assets_and_checks_as_they_were(small_dbs):
    run = migrate(40)
    assert run.success, run.failures
    instance = runner.instance()
    before = catalog(instance)
    assert before["clean_doctors:clean_doctor_count_is_expected"] == (
        run.run_id, AssetCheckExecutionRecordStatus.SUCCEEDED)

    passing = migrate(40, dry_run=True)
    assert passing.success, passing.failures
    assert catalog(instance) == before
    # What it found is on the real assets, as observations marked dry run; beside them the
    # legacy tables' row counts, which are the source's whatever the command.
    observed = {e.asset_key.to_user_string(): e.event_specific_data.asset_observation.metadata
                for e in passing.result.get_asset_observation_events()
                if e.step_key in ASSETS}
    sources = {"auth_user", "dispatch_usersetting", "dispatch_office_doctors",
               "dispatch_patient"}
    assert set(observed) == set(ASSETS) | sources
    assert all("dry_run" not in observed.pop(name) for name in sources)
    assert all(meta["dry_run"].value is True for meta in observed.values())
    assert observed["loaded_doctors"]["unchanged"].value == 40
    assert "dagster/row_count" not in observed["clean_doctors"]
    assert table_rows(observed["clean_doctors"]["checks"])[0] == [
        "clean_doctor_count_is_expected", "passed", "40 clean doctors in the source, 40 expected"]
    assert passing.report_json["counts"]["unchanged"] == 40
    assert observed["validation_report"]["report_json"].value == passing.report_json

    failing = migrate(41, dry_run=True)
    assert failing.exit_code == EXIT_STOPPED
    assert catalog(instance) == before
    assert failing.result.get_asset_check_evaluations() == []
    assert failing.report_json["stops"] == [{"step": "clean_doctors", "reason": (
        "check clean_doctor_count_is_expected failed: 40 clean doctors in the source, "
        "41 expected")}]
