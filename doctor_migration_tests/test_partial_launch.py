"""A partial launch (issue 21): "Materialize" on loaded_doctors or doctor_rows alone, as the UI
selects it, is refused by the step in words that say what to do, and writes nothing. A
re-execution of a run whose gates passed is not a partial launch (test_reexecution.py)."""

from __future__ import annotations

import dagster as dg
import pytest

from doctor_migration import names, runner
from doctor_migration.definitions import defs
from doctor_migration_tests.helpers import migrate, snapshot


@pytest.mark.parametrize(("launched", "needs"), [("loaded_doctors", "doctor_rows"),
                                                 ("doctor_rows", "clean_doctors")])
def test_a_step_launched_alone_is_refused_and_writes_nothing(small_dbs, launched, needs):
    assert migrate(40).success  # the catalog holds a whole run's materializations
    before = snapshot(small_dbs.target_url)
    # The UI's "Materialize" on one asset: the implicit asset job, that asset selected.
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=runner.instance(), asset_selection=[dg.AssetKey(launched)],
        raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert failure.step_key == launched
    data = failure.step_failure_data.user_failure_data
    assert data.description == (
        f"{launched} cannot run without the steps before it: it uses the {needs} that its run "
        "staged and sealed, and neither this run nor a run it re-executes staged any. The "
        "migration's steps run together: launch them together (Materialize all, or the job "
        "migrate_doctors); nothing was changed")
    assert runner.exit_code_for(data.metadata["error_class"].value) == names.EXIT_BAD_INPUT
    # No check of the launched asset was evaluated: none can say validation failed.
    assert result.get_asset_check_evaluations() == []
    assert snapshot(small_dbs.target_url) == before
