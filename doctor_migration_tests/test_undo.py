"""Undo means the newest run that changed doctors: a rerun that wrote nothing stays in the
history but is never the run `rollback --last` or the job's empty run_id undoes; a rollback
is a change to public.doctors, recorded as a materialization of loaded_doctors."""

import re

import dagster as dg

from doctor_migration import cli
from doctor_migration.names import UNDOES_TAG
from doctor_migration.runner import instance, roll_back
from doctor_migration_tests.helpers import migrate, snapshot, started
from doctor_migration_tests.test_rollback import history, rollback_job_with_its_defaults

DAGSTER_RUN = r"[0-9a-f-]{36}\)\."


def run_and_no_op_rerun(dbs) -> tuple[str, str]:
    """A run that inserts the 40 clean doctors, then a rerun on the same data that writes
    nothing but its ledger row."""
    first, rerun = migrate(40), migrate(40)
    assert first.success and rerun.success, (first.failures, rerun.failures)
    with dbs.target() as conn:
        assert conn.execute("SELECT run_id, inserted, updated, deleted FROM doctor_migration.runs "
                            "ORDER BY started_at").fetchall() == [
            (first.run_id, 40, 0, 0), (rerun.run_id, 0, 0, 0)]
    return first.run_id, rerun.run_id


def doctor_counts(dbs) -> tuple[int, int]:
    """(all rows, migrated rows) of public.doctors."""
    with dbs.target() as conn:
        return conn.execute("SELECT count(*), count(legacy_user_id) FROM public.doctors"
                            ).fetchone()


def assert_rollback_on_the_catalog(undone: str, dbs) -> str:
    """The latest materialization of loaded_doctors is a rollback of `undone`, with the
    table's real row count, by a run tagged with `undone`; returns that run's id."""
    event = instance().get_latest_materialization_event(dg.AssetKey("loaded_doctors"))
    materialization = event.asset_materialization
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["rolled_back_run_id"] == undone
    assert metadata["dagster/row_count"] == doctor_counts(dbs)[0]
    assert (metadata["inserted_rows_removed"], metadata["updated_rows_restored"],
            metadata["deleted_rows_recreated"]) == (40, 0, 0)
    assert materialization.description == (
        f"Rollback of run {undone}: public.doctors as it was before that run (40 inserted rows "
        "removed, 0 updated rows restored, 0 deleted rows recreated).")
    run = instance().get_run_by_id(event.run_id)
    assert run.job_name == "rollback_doctor_migration"
    assert run.tags[UNDOES_TAG] == undone
    return event.run_id


def test_rollback_last_undoes_the_run_that_changed_doctors(small_dbs, capsys):
    natives = doctor_counts(small_dbs)[0]
    first, rerun = run_and_no_op_rerun(small_dbs)
    capsys.readouterr()
    assert cli.main(["rollback", "--last"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()  # the first and the last; the steps' progress between them
    assert lines[0] == (f"Rolling back run {first} (started {started(small_dbs.target_url, first)}"
                        ", the newest run that changed doctors and is not rolled back; 1 newer "
                        "run changed nothing)")
    assert re.fullmatch(re.escape(f"Run {first} rolled back: the doctors it touched are as they "
                                  "were before it (Dagster run ") + DAGSTER_RUN, lines[-1]), out
    assert doctor_counts(small_dbs) == (natives, 0)
    (newest, _, newest_state), (oldest, _, oldest_state) = history(capsys)
    assert (newest, newest_state) == (rerun, "changed nothing")
    assert oldest == first
    assert re.fullmatch(r"rolled back \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by postgres \(.+\)",
                        oldest_state), oldest_state
    rollback_run = assert_rollback_on_the_catalog(first, small_dbs)
    assert rollback_run in out


def test_rollback_job_with_an_empty_run_id_undoes_the_run_that_changed_doctors(small_dbs):
    natives = doctor_counts(small_dbs)[0]
    first, rerun = run_and_no_op_rerun(small_dbs)
    undo, messages = rollback_job_with_its_defaults()
    assert undo.success, undo.failures
    assert (f"no run_id given: rolling back run {first} (started "
            f"{started(small_dbs.target_url, first)}, the newest run that changed doctors and "
            "is not rolled back; 1 newer run changed nothing)") in messages
    assert doctor_counts(small_dbs) == (natives, 0)
    assert assert_rollback_on_the_catalog(first, small_dbs) == undo.run_id
    # The op declares no output: no STEP_OUTPUT, no IO manager's HANDLED_OUTPUT.
    steps = [e.dagster_event.event_type_value for e in instance().all_logs(undo.run_id)
             if e.dagster_event and e.dagster_event.step_key]
    assert steps == ["RESOURCE_INIT_STARTED", "RESOURCE_INIT_SUCCESS", "STEP_START",
                     "ASSET_MATERIALIZATION", "STEP_SUCCESS"]

    # Only the rerun is left: it changed nothing, so there is no run to roll back.
    before = snapshot(small_dbs.target_url)
    refused, _ = rollback_job_with_its_defaults()
    assert refused.exit_code == 1
    assert refused.failures == ["stopped at rollback_run: there is no run to roll back: no run "
                                "in the ledger changed doctors and is not rolled back"]
    assert snapshot(small_dbs.target_url) == before
    # A refused rollback records no materialization, and its run no tag.
    assert assert_rollback_on_the_catalog(first, small_dbs) == undo.run_id
    assert UNDOES_TAG not in instance().get_run_by_id(refused.run_id).tags


def test_rolling_back_a_run_that_changed_nothing_writes_nothing(small_dbs, capsys):
    _, rerun = run_and_no_op_rerun(small_dbs)
    before = snapshot(small_dbs.target_url)
    nothing = (f"Nothing to undo: run {rerun} inserted, updated and deleted no doctor; nothing "
               "was changed")

    undo = roll_back(rerun, progress=False)
    assert (undo.success, undo.exit_code, undo.failures) == (True, 0, [])
    assert nothing in [entry.user_message for entry in instance().all_logs(undo.run_id)]
    assert snapshot(small_dbs.target_url) == before

    capsys.readouterr()
    assert cli.main(["rollback", rerun]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Rolling back run {rerun}"
    assert re.fullmatch(re.escape(f"{nothing} (Dagster run ") + DAGSTER_RUN, lines[-1]), lines
    assert snapshot(small_dbs.target_url) == before
    # No change to public.doctors: no materialization of loaded_doctors, no tag.
    for run_id in (undo.run_id, lines[-1][-38:-2]):
        assert instance().get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records == []
        assert UNDOES_TAG not in instance().get_run_by_id(run_id).tags
