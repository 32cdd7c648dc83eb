"""Re-executions (issue 19): a re-execution that reuses its root run's stage says which source
snapshot it migrates and refuses one past max_snapshot_age; two runs never use one stage at once.
Re-executed as the UI does ("Re-execute from failure"), each step in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import dagster as dg
import pytest

from doctor_migration import names, runner
from doctor_migration.defs.config import SETTINGS, MigrationSettings
from doctor_migration.defs.jobs import MIGRATE_JOB
from doctor_migration.migration import stage
from doctor_migration.migration.report import render_markdown as report_markdown
from doctor_migration_tests.helpers import doctors, lone_clean_ids, snapshot


def migrate_job() -> dg.JobDefinition:
    """migrate_doctors, for dg.reconstructable."""
    from doctor_migration.definitions import defs

    return defs.resolve_job_def(MIGRATE_JOB)


def _stopped_at_the_load(dbs, max_snapshot_age: str = names.MAX_SNAPSHOT_AGE) -> str:
    """A run that stops at loaded_doctors (busy: another session holds public.doctors), after
    its gates passed; its run id."""
    config = dg.RunConfig(resources={SETTINGS: MigrationSettings(
        expected_count=40, lock_timeout="1s", max_snapshot_age=max_snapshot_age)})
    with dbs.target() as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK public.doctors IN ROW EXCLUSIVE MODE")
        outcome = runner.launch(MIGRATE_JOB, config, progress=False)
        holder.execute("ROLLBACK")
    assert outcome.exit_code == names.EXIT_BUSY
    assert [line.split(":")[0] for line in outcome.failures] == ["error at loaded_doctors"]
    return outcome.run_id


def _reexecute(run_id: str) -> dg.JobExecutionResult:
    instance = runner.instance()
    return dg.execute_job(dg.reconstructable(migrate_job), instance,
                          reexecution_options=dg.ReexecutionOptions.from_failure(run_id, instance))


def _failure(result: dg.JobExecutionResult, step: str) -> str:
    [failure] = [e for e in result.get_step_failure_events() if e.step_key == step]
    return failure.step_failure_data.user_failure_data.description


def _load_metadata(result: dg.JobExecutionResult) -> dict:
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key == dg.AssetKey("loaded_doctors")]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_a_reexecution_says_which_source_snapshot_it_migrates(small_dbs):
    first = _stopped_at_the_load(small_dbs)
    read_at = runner.RunEvents.of_stored(runner.instance(), first).records[
        "clean_doctors"]["source_snapshot_at"]
    # The source changes after the snapshot: the re-execution migrates the snapshot, and says so.
    left = sorted(lone_clean_ids(small_dbs.world))[0]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (left,))
    with _reexecute(first) as result:
        assert result.success
        metadata = _load_metadata(result)
        said = [entry.user_message for entry in runner.instance().all_logs(result.run_id)
                if entry.user_message.startswith("re-executing")]
    assert metadata["source_snapshot_at"] == read_at
    assert 0 <= metadata["source_snapshot_age_minutes"] < 60
    assert len(said) == 1 and said[0].startswith(
        f"re-executing run {first}: migrating the source as it read it at {read_at}, ")
    report = runner.stored_report(result.run_id)
    assert report["source_snapshot"] == {"read_by": first, "taken_at": read_at,
                                         "age_minutes": metadata["source_snapshot_age_minutes"]}
    assert (f"**Re-execution:** migrated the source as run `{first}` read it at {read_at}, "
            in report_markdown(report))
    migrated = doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")
    assert sorted(d["legacy_user_id"] for d in migrated.values()) == small_dbs.world.clean_ids


def test_a_reexecution_of_a_snapshot_past_its_maximum_age_is_refused(small_dbs):
    first = _stopped_at_the_load(small_dbs, max_snapshot_age="1 ms")
    before = snapshot(small_dbs.target_url)
    with _reexecute(first) as result:
        assert not result.success
        sentence = _failure(result, "loaded_doctors")
    assert sentence.startswith("this re-execution would migrate the source snapshot taken at ")
    assert sentence.endswith(", older than max_snapshot_age 1 ms; nothing was written: launch a "
                             "new run (`doctor-migration run`, or Materialize all), which reads "
                             "the source again")
    assert snapshot(small_dbs.target_url) == before


def test_two_runs_never_use_one_stage_at_once(small_dbs):
    """A second re-execution of the same run, still going, holds the stage: a re-execution is
    refused at once, naming it; once it has ended, the same re-execution goes through."""
    first = _stopped_at_the_load(small_dbs)
    instance = runner.instance()
    other = dg.DagsterRun(job_name=MIGRATE_JOB, run_id=str(uuid.uuid4()),
                          status=dg.DagsterRunStatus.STARTED, root_run_id=first,
                          parent_run_id=first)
    instance.add_run(other)
    with small_dbs.target() as conn:  # the other re-execution's load took the stage
        conn.execute("UPDATE doctor_migration.stages SET used_by = %s WHERE run_id = %s",
                     (other.run_id, first))
    before = snapshot(small_dbs.target_url)
    with _reexecute(first) as refused:
        assert not refused.success
        sentence = _failure(refused, "loaded_doctors")
        [failed] = refused.get_step_failure_events()
    assert sentence == (
        f"the stage of run {first} is in use by run {other.run_id} (STARTED): two runs may not "
        "use one stage at once (two re-executions of one run, say); nothing was changed: let "
        f"run {other.run_id} end (or terminate it in the Dagster UI), then launch again")
    assert runner.exit_code_for(
        failed.step_failure_data.user_failure_data.metadata["error_class"].value) \
        == names.EXIT_BUSY
    assert snapshot(small_dbs.target_url) == before
    instance.report_run_failed(other)
    with _reexecute(first) as result:
        assert result.success
    with small_dbs.target() as conn:
        assert conn.execute("SELECT used_by FROM doctor_migration.stages WHERE run_id = %s",
                            (first,)).fetchone()[0] == result.run_id


# One re-execution of run argv[1] ("from failure" or "all steps", argv[2]), in the DAGSTER_HOME
# of the environment; prints [succeeded, the failures' sentences] as JSON.
REEXECUTE = """
import json, sys
import dagster as dg
from doctor_migration import runner
from doctor_migration_tests.test_reexecution import migrate_job
first, kind = sys.argv[1:]
instance = runner.instance()
options = (dg.ReexecutionOptions.from_failure(first, instance) if kind == "from failure"
           else dg.ReexecutionOptions(parent_run_id=first))
with dg.execute_job(dg.reconstructable(migrate_job), instance,
                    reexecution_options=options) as result:
    print(json.dumps([result.success, [
        e.step_failure_data.user_failure_data.description
        for e in result.get_step_failure_events() if e.step_failure_data.user_failure_data]]))
"""


def test_two_reexecutions_of_one_run_started_together(small_dbs):
    """The review's case: "Re-execute from failure" and "Re-execute all steps" of one failed
    run, launched at the same moment. Whatever the interleaving, one stage is used by one run
    at a time: each re-execution succeeds or is refused naming the other (or the target's
    one-at-a-time lock), at least one succeeds, and every clean doctor ends migrated once."""
    first = _stopped_at_the_load(small_dbs)
    # Each in a process of its own, as the UI launches runs (two runs in one process would
    # share its captured stdout).
    together = {kind: subprocess.Popen([sys.executable, "-c", REEXECUTE, first, kind],
                                       stdout=subprocess.PIPE, text=True)
                for kind in ("from failure", "all steps")}
    outcomes = {kind: json.loads(process.communicate(timeout=300)[0].splitlines()[-1])
                for kind, process in together.items()}
    assert any(success for success, _ in outcomes.values()), outcomes
    for success, failures in outcomes.values():
        assert success or (len(failures) == 1 and failures[0].startswith((
            f"the stage of run {first} is in use by run ",
            f"another run is taking the stage of run {first} at this moment",
            "another migration or rollback is running on the target"))), outcomes
    migrated = doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")
    assert sorted(d["legacy_user_id"] for d in migrated.values()) == small_dbs.world.clean_ids


@pytest.mark.parametrize("other_status", [None, "STARTED"])
def test_a_stage_is_taken_only_from_a_run_that_has_ended(small_dbs, other_status):
    """The claim itself: a stage used by a run that is still going is refused; by one that has
    ended (or that this instance does not know), taken."""
    from doctor_migration.migration import db, target

    timeouts = target.Timeouts()
    with db.connect(small_dbs.target_url, "target") as conn:
        stage.start(conn, "s", "run", timeouts, stage.Claim("a", lambda run: None))
        claim = stage.Claim("b", lambda run: other_status if run == "a" else None)
        if other_status:
            with pytest.raises(stage.StageInUse, match="^the stage of run s is in use by run a "
                                                       r"\(STARTED\)"):
                with stage.transaction(conn, "s", "run", timeouts, claim=claim):
                    pass
        else:
            with stage.transaction(conn, "s", "run", timeouts, claim=claim):
                pass
        used_by = conn.execute("SELECT used_by FROM doctor_migration.stages "
                               "WHERE run_id = 's'").fetchone()[0]
    assert used_by == ("a" if other_status else "b")


def test_a_stage_another_run_is_taking_at_this_moment_is_refused(small_dbs):
    """Two runs claiming one stage at once: the second one's claim waits for the first one's
    hold on the stage (here another session holds it), and gives up naming the race."""
    from doctor_migration.migration import db, target

    timeouts = target.Timeouts(lock_timeout="1s")
    with db.connect(small_dbs.target_url, "target") as conn:
        stage.start(conn, "s", "run", timeouts, stage.Claim("a", lambda run: None))
        with small_dbs.target() as other:
            other.execute("BEGIN")
            other.execute("SELECT * FROM doctor_migration.stages WHERE run_id = 's' FOR SHARE")
            with pytest.raises(stage.StageInUse) as refused:
                with stage.transaction(conn, "s", "run", timeouts,
                                       claim=stage.Claim("b", lambda run: None)):
                    pass
            other.execute("ROLLBACK")
        used_by = conn.execute("SELECT used_by FROM doctor_migration.stages "
                               "WHERE run_id = 's'").fetchone()[0]
    assert str(refused.value) == (
        "another run is taking the stage of run s at this moment: two runs may not use one "
        "stage at once (two re-executions of one run, say); nothing was changed: let it end (or "
        "terminate it in the Dagster UI), then launch again")
    assert used_by == "a"
