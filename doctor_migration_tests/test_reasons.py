"""Reasons up front: every check result carries its one-line summary as its description, and a
refusal, a stop condition or bad input fails its step with a dg.Failure whose description is
the sentence (what the run page shows) and whose metadata names the error's class, from which
the command line takes its exit code."""

import dagster as dg
import psycopg
import pytest

from doctor_migration.migration import target
from doctor_migration.runner import roll_back
from doctor_migration.names import EXIT_BAD_INPUT, EXIT_BUSY, EXIT_STOPPED
from doctor_migration_tests.helpers import migrate, snapshot


def failure_of(outcome, step: str) -> tuple[str, dict]:
    """The description and metadata of the dg.Failure that failed `step`."""
    [event] = [e for e in outcome.result.all_events
               if e.event_type_value == "STEP_FAILURE" and e.step_key == step]
    failure = event.step_failure_data.user_failure_data
    assert failure is not None, event.step_failure_data.error
    return failure.description, {k: v.value for k, v in failure.metadata.items()}


def test_every_check_result_has_its_summary_as_description(small_dbs):
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    evaluations = outcome.result.get_asset_check_evaluations()
    assert len(evaluations) == 16
    for evaluation in evaluations:
        assert evaluation.description, evaluation.check_name
        assert "\n" not in evaluation.description
        assert evaluation.description == evaluation.metadata["summary"].value


def test_failed_gate_fails_the_step_with_the_sentence(small_dbs):
    before = snapshot(small_dbs.target_url)
    outcome = migrate(41, dry_run=True)
    assert outcome.exit_code == EXIT_STOPPED
    description, metadata = failure_of(outcome, "clean_doctors")
    assert description == ("check clean_doctor_count_is_expected failed: 40 clean doctors in "
                           "the source, 41 expected")
    assert metadata == {"error_class": "StopMigration",
                        "failed_checks": "clean_doctor_count_is_expected"}
    # The CLI tells the check once, from the check's own line.
    assert outcome.failures == ["check clean_doctor_count_is_expected failed: 40 clean "
                                "doctors in the source, 41 expected"]
    assert snapshot(small_dbs.target_url) == before


def test_refused_rollback_is_a_failure_exit_1(small_dbs):
    outcome = roll_back("no-such-run", progress=False)
    assert outcome.exit_code == EXIT_STOPPED
    description, metadata = failure_of(outcome, "rollback_run")
    assert metadata == {"error_class": "RollbackRefused"}
    assert "no run no-such-run in the ledger" in description
    assert outcome.failures == [f"stopped at rollback_run: {description}"]


def test_held_migration_lock_is_a_failure_exit_75(small_dbs):
    before = snapshot(small_dbs.target_url)
    with psycopg.connect(small_dbs.target_url, application_name="other-migration") as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", (target.MIGRATION_LOCK_KEY,))
        outcome = migrate(40)
    assert outcome.exit_code == EXIT_BUSY
    description, metadata = failure_of(outcome, "loaded_doctors")
    assert metadata == {"error_class": "DatabaseBusy"}
    assert description.startswith("another migration or rollback is running on the target: "
                                  "other-migration (pid ")
    assert outcome.failures == [f"error at loaded_doctors: {description}"]
    assert snapshot(small_dbs.target_url) == before


def test_missing_source_table_is_a_failure_exit_2(small_dbs):
    with small_dbs.source() as conn:
        conn.execute("DROP TABLE dispatch_patient")
    outcome = migrate(40)
    assert outcome.exit_code == EXIT_BAD_INPUT
    description, metadata = failure_of(outcome, "clean_doctors")
    assert metadata == {"error_class": "MigrationError"}
    assert "dispatch_patient" in description and "\n" not in description
    assert outcome.failures == [f"error at clean_doctors: {description}"]


@pytest.mark.parametrize("error_class, code", [
    ("StopMigration", EXIT_STOPPED), ("RollbackRefused", EXIT_STOPPED), ("DatabaseBusy", EXIT_BUSY),
    ("StageGone", EXIT_BUSY), ("MigrationError", EXIT_BAD_INPUT)])
def test_exit_code_follows_the_failure_error_class(error_class, code):
    """Any op that fails with a Failure carrying error_class gets the class's exit code, by
    type: StageGone is a DatabaseBusy."""
    from doctor_migration import runner

    @dg.op
    def failing():
        raise dg.Failure(description="the sentence", metadata={"error_class": error_class})

    @dg.job
    def one_step():
        failing()

    result = one_step.execute_in_process(raise_on_error=False)
    lines, exit_code = runner._step_failures(result.get_step_failure_events())
    assert exit_code == code
    verb = "stopped" if code == EXIT_STOPPED else "error"
    assert lines == [f"{verb} at failing: the sentence"]
