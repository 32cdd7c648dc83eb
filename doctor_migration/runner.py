"""Launch a job of the code location as a Dagster run in the instance at DAGSTER_HOME, in
process, and boil its events down to what the operator must read."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import yaml

from doctor_migration.defs.failures import ERROR_CLASS, FAILED_CHECKS
from doctor_migration.migration.errors import DatabaseBusy, MigrationError, StopMigration
from doctor_migration.migration.ledger import RollbackRefused

# Exit codes of the command line.
OK, STOPPED, BAD_INPUT = 0, 1, 2
# sysexits EX_TEMPFAIL: another session is in the way; nothing was changed, try again later.
BUSY = 75
# The exit code for the class of error a step failed with (its Failure's error_class): a stop
# condition of the plan or a refusal, another session in the way, or bad input.
EXIT_CODES = {StopMigration.__name__: STOPPED, RollbackRefused.__name__: STOPPED,
              DatabaseBusy.__name__: BUSY, MigrationError.__name__: BAD_INPUT}
# Ctrl-C, as shells report a death by SIGINT.
INTERRUPTED = 130
INTERRUPTED_LINE = "interrupted: the target's transaction was rolled back"


class _QuietRollback(logging.Filter):
    """psycopg warns when the rollback of a transaction interrupted mid-query cannot be sent;
    the connection is closed right after, which ends the transaction on the server."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored in rollback")


logging.getLogger("psycopg.transaction").addFilter(_QuietRollback())


@dataclass
class RunOutcome:
    """What a run did, for printing."""

    run_id: str
    success: bool
    report: str | None = None
    report_json: dict | None = None
    failures: list[str] = field(default_factory=list)
    exit_code: int = OK
    result: dg.ExecuteInProcessResult | None = None


_instances: dict[Path, dg.DagsterInstance] = {}


def instance() -> dg.DagsterInstance:
    """The instance at DAGSTER_HOME (./.dagster_home when unset; created with telemetry off
    when missing), so runs show in the UI. Opened once per home and process: opening one
    costs a third of a second."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home")
    if home.resolve() in _instances:
        return _instances[home.resolve()]
    try:
        if not home.exists():
            home.mkdir(parents=True)
            (home / "dagster.yaml").write_text(
                "telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
        if not home.is_dir():
            raise MigrationError(f"DAGSTER_HOME {home} is not a directory")
        # Dagster writes its SQLite storage there; find out now rather than mid-run.
        with tempfile.TemporaryFile(dir=home):
            pass
        os.environ["DAGSTER_HOME"] = str(home.resolve())
        return _instances.setdefault(home.resolve(), dg.DagsterInstance.get())
    except MigrationError:
        raise
    except OSError as exc:
        raise MigrationError(f"cannot use DAGSTER_HOME {home}: "
                             f"{exc.strerror or type(exc).__name__}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise MigrationError(
            f"{home / 'dagster.yaml'} is not valid YAML{where}: "
            f"{getattr(exc, 'problem', None) or type(exc).__name__}") from None
    except Exception as exc:  # noqa: BLE001 - any failure to open the instance is bad input
        raise MigrationError(
            f"cannot open the Dagster instance in DAGSTER_HOME {home}: {_instance_problem(exc)}"
        ) from None


def _instance_problem(exc: Exception) -> str:
    """One line on why Dagster could not open the instance: its messages run to many lines
    and may quote the configuration (a storage URL, with its password)."""
    text = str(exc)
    unset = re.search(r'environment variable "([^"]+)" which is not set', text)
    if unset:
        return f"its dagster.yaml reads the environment variable {unset.group(1)}, which is not set"
    if isinstance(exc, dg.DagsterInvalidConfigError):
        return ("its dagster.yaml does not configure Dagster as it expects "
                "(see `dagster instance info`)")
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return re.sub(r"://[^\s/]*@", "://***@", first)


def _check_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    lines = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        meta = evaluation.metadata
        line = f"check {evaluation.check_name} failed"
        if "summary" in meta:
            line += f": {meta['summary'].value}"
        if meta.get("all_offending_legacy_ids") and meta["all_offending_legacy_ids"].value:
            line += f"; offending legacy user ids: {meta['all_offending_legacy_ids'].value}"
        if "offending_users" in meta:
            line += "\n" + meta["offending_users"].value
        lines.append(line)
    return lines


def _interrupted(result: dg.ExecuteInProcessResult) -> bool:
    return any(event.event_type_value == "STEP_FAILURE"
               and "DagsterExecutionInterruptedError" in (
                   event.step_failure_data.error.cls_name if event.step_failure_data.error
                   else "")
               for event in result.all_events)


def _unexpected_error(error) -> str | None:
    """The message of an error no Failure describes (a bug, a crash), without Dagster's
    wrappers around it."""
    while (error is not None and error.cause is not None
           and error.cls_name.startswith("Dagster")):
        error = error.cause
    if error is None:
        return None
    message = error.message.strip()
    if ": " in message and error.cls_name in message.split(": ", 1)[0]:
        message = message.split(": ", 1)[1]
    return message


def _step_failures(result: dg.ExecuteInProcessResult) -> tuple[list[str], int]:
    """One line per failed step, with the migration's own sentence; and the exit code they
    call for: BUSY when another session was in the way, BAD_INPUT for an error of input or
    environment, else STOPPED (a stop condition of the plan, a refusal)."""
    lines, codes = [], set()
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        failure = event.step_failure_data.user_failure_data
        error_class = failure.metadata.get(ERROR_CLASS) if failure else None
        if error_class is None:
            message = _unexpected_error(event.step_failure_data.error)
            if message is not None:
                lines.append(f"error at {event.step_key}: {message}")
            continue
        code = EXIT_CODES.get(error_class.value, BAD_INPUT)
        codes.add(code)
        if FAILED_CHECKS in failure.metadata:
            continue  # told by the check lines
        verb = "stopped" if code == STOPPED else "error"
        lines.append(f"{verb} at {event.step_key}: {failure.description}")
    return lines, BUSY if BUSY in codes else BAD_INPUT if BAD_INPUT in codes else STOPPED


def migrate(expected_count: int = 399, *, dry_run: bool = False, lock_timeout: str = "30s",
            create_indexes: bool = False, run_id: str | None = None,
            progress: bool = True) -> RunOutcome:
    """A migration run (or with dry_run, a plan) in the DAGSTER_HOME instance."""
    from doctor_migration.defs.config import migration_run_config

    job = "plan_doctor_migration" if dry_run else "migrate_doctors"
    return launch(job, migration_run_config(expected_count, dry_run, lock_timeout, create_indexes),
                  run_id=run_id, progress=progress)


def stored_report(run_id: str | None = None) -> dict | None:
    """The report (JSON form) of a run recorded in the DAGSTER_HOME instance; the newest when
    run_id is None."""
    key = dg.AssetKey("validation_report")
    inst = instance()
    if run_id is None:
        entry = inst.get_latest_materialization_event(key)
    else:
        logs = inst.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        entry = next((e for e in logs if e.asset_materialization.asset_key == key), None)
    return entry.asset_materialization.metadata["report_json"].value if entry else None


def roll_back(run_id: str, *, lock_timeout: str = "30s", progress: bool = True) -> RunOutcome:
    """A rollback_doctor_migration run for `run_id` in the DAGSTER_HOME instance."""
    from doctor_migration.defs.rollback import RollbackConfig

    return launch("rollback_doctor_migration",
                  dg.RunConfig(ops={"rollback_run": RollbackConfig(
                      run_id=run_id, lock_timeout=lock_timeout)}),
                  progress=progress)


def launch(job_name: str, run_config: dg.RunConfig, *, run_id: str | None = None,
           progress: bool = True) -> RunOutcome:
    """Run `job_name` in process in the DAGSTER_HOME instance and summarize it."""
    from doctor_migration.definitions import defs

    run_id = run_id or str(uuid.uuid4())
    if progress:
        run_config = dg.RunConfig(ops=run_config.ops, resources=run_config.resources,
                                  loggers={"progress": {}})
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        run_config=run_config, instance=instance(), run_id=run_id, raise_on_error=False)
    outcome = RunOutcome(run_id=run_id, success=result.success, result=result)
    for event in result.all_events:
        if event.is_step_materialization and event.step_key == "validation_report":
            metadata = event.event_specific_data.materialization.metadata
            outcome.report = metadata["report"].value
            outcome.report_json = metadata["report_json"].value
    step_lines, exit_code = _step_failures(result)
    outcome.failures = _check_failures(result) + step_lines
    if not result.success:
        outcome.exit_code = exit_code
    if _interrupted(result):
        outcome.exit_code, outcome.failures = INTERRUPTED, [INTERRUPTED_LINE]
    return outcome
