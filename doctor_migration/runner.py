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
from doctor_migration.defs.jobs import MIGRATE_JOB, PLAN_JOB
from doctor_migration.migration import report
from doctor_migration.migration.errors import DatabaseBusy, MigrationError, StopMigration
from doctor_migration.migration.ledger import RollbackRefused
from doctor_migration.names import (
    EXIT_BAD_INPUT,
    EXIT_BUSY,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STOPPED,
    EXPECTED_COUNT,
    LOCK_TIMEOUT,
)

# Exit codes of the command line.
OK, STOPPED, BAD_INPUT, BUSY = EXIT_OK, EXIT_STOPPED, EXIT_BAD_INPUT, EXIT_BUSY
# The exit code for the class of error a step failed with (its Failure's error_class): a stop
# condition of the plan or a refusal, another session in the way, or bad input.
EXIT_CODES = {StopMigration.__name__: STOPPED, RollbackRefused.__name__: STOPPED,
              DatabaseBusy.__name__: BUSY, MigrationError.__name__: BAD_INPUT}
ROLLBACK_JOB = "rollback_doctor_migration"
# The jobs whose runs have a report: a run, a plan, and the UI's "Materialize all".
REPORTED_JOBS = (MIGRATE_JOB, PLAN_JOB, "__ASSET_JOB")
INTERRUPTED = EXIT_INTERRUPTED
INTERRUPTED_LINE = "interrupted: the target's transaction was rolled back"


class _QuietRollback(logging.Filter):
    """psycopg warns when the rollback of a transaction interrupted mid-query cannot be sent;
    the connection is closed right after, which ends the transaction on the server."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored in rollback")


logging.getLogger("psycopg.transaction").addFilter(_QuietRollback())


class _QuietInstance(logging.Filter):
    """Dagster warns on every command when DAGSTER_HOME has no dagster.yaml; keeping runs in
    SQLite files there is what the README documents for that case."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No dagster instance configuration file")


logging.getLogger("dagster").addFilter(_QuietInstance())


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


def _telemetry_settings(home: Path) -> dict:
    """Telemetry off unless the operator's dagster.yaml says otherwise: Dagster's default is on,
    and its first run in a DAGSTER_HOME then prints a banner between the tool's lines."""
    path = home / "dagster.yaml"
    config = yaml.safe_load(path.read_text()) if path.is_file() else None
    telemetry = config.get("telemetry") if isinstance(config, dict) else None
    if isinstance(telemetry, dict) and "enabled" in telemetry:
        return {}
    return {"telemetry": {"enabled": False}}


_instances: dict[Path, dg.DagsterInstance] = {}


def instance() -> dg.DagsterInstance:
    """The instance at DAGSTER_HOME (./.dagster_home when unset; created with telemetry off
    when missing), so runs show in the UI; telemetry off unless its dagster.yaml turns it on.
    Opened once per home and process: opening one costs a third of a second."""
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
        # DagsterInstance.get() with settings on top: local_temp reads the dagster.yaml in the
        # directory it is given and keeps everything there, as get() does with DAGSTER_HOME.
        return _instances.setdefault(home.resolve(), dg.DagsterInstance.local_temp(
            str(home.resolve()), overrides=_telemetry_settings(home)))
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


def _check_failures(evaluations: list) -> list[str]:
    """One line per failed check (of AssetCheckEvaluations), with its offenders."""
    lines = []
    for evaluation in evaluations:
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


def _interrupted(events: list[dg.DagsterEvent]) -> bool:
    return any(event.event_type_value == "STEP_FAILURE"
               and "DagsterExecutionInterruptedError" in (
                   event.step_failure_data.error.cls_name if event.step_failure_data.error
                   else "")
               for event in events)


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


def _step_errors(events: list[dg.DagsterEvent]) -> list[tuple[str, str | None, str, bool]]:
    """(step key, the migration's error class, its sentence, whether failed blocking checks
    stopped the step) of each failed step; the class is None for an error no Failure
    describes (a bug, a crash)."""
    errors = []
    for event in events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        failure = event.step_failure_data.user_failure_data
        error_class = failure.metadata.get(ERROR_CLASS) if failure else None
        if error_class is None:
            message = _unexpected_error(event.step_failure_data.error)
            if message is not None:
                errors.append((event.step_key, None, message, False))
            continue
        errors.append((event.step_key, error_class.value, failure.description,
                       FAILED_CHECKS in failure.metadata))
    return errors


def _step_failures(events: list[dg.DagsterEvent]) -> tuple[list[str], int]:
    """One line per failed step, with the migration's own sentence; and the exit code they
    call for: BUSY when another session was in the way, BAD_INPUT for an error of input or
    environment, else STOPPED (a stop condition of the plan, a refusal)."""
    lines, codes = [], set()
    for step, error_class, message, checks_failed in _step_errors(events):
        if error_class is None:
            lines.append(f"error at {step}: {message}")
            continue
        code = EXIT_CODES.get(error_class, BAD_INPUT)
        codes.add(code)
        if checks_failed:
            continue  # told by the check lines
        verb = "stopped" if code == STOPPED else "error"
        lines.append(f"{verb} at {step}: {message}")
    return lines, BUSY if BUSY in codes else BAD_INPUT if BAD_INPUT in codes else STOPPED


def _check_entry(evaluation, meta: dict) -> dict:
    """A check evaluation (and its metadata's values) as the report lists it: result,
    summary and offenders."""
    entry = {"asset": evaluation.asset_key.to_user_string(), "check": evaluation.check_name,
             "passed": evaluation.passed, "severity": evaluation.severity.value,
             "summary": meta.get("summary", "")}
    if not evaluation.passed:
        entry["offenders"] = meta.get("all_offending_legacy_ids") or ""
        entry["offending_users"] = meta.get("offending_users") or ""
    return entry


def _stopped_report(run: dg.DagsterRun, events: list[dg.DagsterEvent]) -> dict:
    """What a run that did not reach validation_report computed, from its events: the
    metadata of the assets it materialized, every check it evaluated, and its failed steps."""
    materialized: dict[str, dict] = {}
    checks, step_of, timings = [], [], []
    for event in events:
        if event.is_step_materialization:
            materialization = event.event_specific_data.materialization
            materialized[materialization.asset_key.to_user_string()] = {
                k: v.value for k, v in materialization.metadata.items()}
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            meta = {k: v.value for k, v in evaluation.metadata.items()}
            checks.append(_check_entry(evaluation, meta))
            step_of.append(event.step_key)
            if "execution_ms" in meta:  # step 4's timings, as validation_report keeps them
                timings.append({k: meta[k] for k in ("step", "planning_ms", "execution_ms",
                                                     "threshold_ms", "node_types")}
                               | {"name": evaluation.check_name})
    stops = []
    for step, _, message, checks_failed in _step_errors(events):
        if checks_failed:
            message = "; ".join(
                f"check {c['check']} failed: {c['summary']}"
                + (f"; offending legacy user ids: {c['offenders']}" if c["offenders"] else "")
                for c, at in zip(checks, step_of)
                if at == step and not c["passed"] and c["severity"] == "ERROR")
        stops.append({"step": step, "reason": message})
    selection = materialized.get("clean_doctors", {})
    load = materialized.get("loaded_doctors", {})
    dry_run = load.get("dry_run", run.job_name == PLAN_JOB)
    counts = {"clean_doctors": selection.get("dagster/row_count"),
              **{k: load[k] for k in ("inserted", "updated", "unchanged", "deleted") if k in load}}
    if run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
        outcome = report.STOPPED
    elif run.status == dg.DagsterRunStatus.SUCCESS:
        outcome = report.SUCCEEDED
    else:
        outcome = f"Dagster reports it as {run.status.value}"
    index = load.get("legacy_id_index")
    return report.build_stopped_report(
        run.run_id, dry_run=dry_run, stops=stops, outcome=outcome, counts=counts,
        accounting=selection.get("accounting"), checks=checks,
        timings=sorted(timings, key=lambda t: t["step"]),
        legacy_id_index=None if index in (None, "none") else index,
        load_seconds=load.get("load_seconds"), load_committed=bool(load) and not dry_run)


def _report(run: dg.DagsterRun, events: list[dg.DagsterEvent]) -> dict:
    """The report of a migration run or plan: the one validation_report made, or, for a run
    that stopped before it, what the run's own events say it computed and where it stopped."""
    for event in events:
        if event.is_step_materialization and event.step_key == "validation_report":
            stored = event.event_specific_data.materialization.metadata["report_json"].value
            return {"outcome": report.SUCCEEDED, "stops": [], **stored}
    return _stopped_report(run, events)


def migrate(expected_count: int = EXPECTED_COUNT, *, dry_run: bool = False,
            lock_timeout: str = LOCK_TIMEOUT,
            create_indexes: bool = False, run_id: str | None = None,
            progress: bool = True) -> RunOutcome:
    """A migration run (or with dry_run, a plan) in the DAGSTER_HOME instance."""
    from doctor_migration.defs.config import migration_run_config

    job = PLAN_JOB if dry_run else MIGRATE_JOB
    return launch(job, migration_run_config(expected_count, dry_run, lock_timeout, create_indexes),
                  run_id=run_id, progress=progress)


def _newest_migration_run(inst: dg.DagsterInstance) -> str | None:
    """The newest run of the migration's assets: a run, a plan, or the UI's "Materialize all"."""
    records = [record for job in REPORTED_JOBS
               for record in inst.get_run_records(dg.RunsFilter(job_name=job), limit=1)]
    newest = max(records, key=lambda r: r.create_timestamp, default=None)
    return newest.dagster_run.run_id if newest else None


def stored_report(run_id: str | None = None) -> dict | None:
    """The report (JSON form) of a run recorded in the DAGSTER_HOME instance, whether it
    succeeded or stopped; the newest run's when run_id is None. None for an unknown run id, a
    rollback's, or an instance without a migration run."""
    inst = instance()
    run_id = run_id or _newest_migration_run(inst)
    run = inst.get_run_by_id(run_id) if run_id else None
    if run is None or run.job_name == ROLLBACK_JOB:
        return None
    return _report(run, [e.dagster_event for e in inst.all_logs(run_id) if e.dagster_event])


def roll_back(run_id: str, *, lock_timeout: str = LOCK_TIMEOUT,
              progress: bool = True) -> RunOutcome:
    """A rollback_doctor_migration run for `run_id` in the DAGSTER_HOME instance."""
    from doctor_migration.defs.rollback import RollbackConfig

    return launch(ROLLBACK_JOB,
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
    events = result.all_events
    step_lines, exit_code = _step_failures(events)
    outcome.failures = _check_failures(result.get_asset_check_evaluations()) + step_lines
    if not result.success:
        outcome.exit_code = exit_code
    if _interrupted(events):
        outcome.exit_code, outcome.failures = INTERRUPTED, [INTERRUPTED_LINE]
    elif job_name != ROLLBACK_JOB and any(
            e.is_step_materialization or e.event_type_value == "ASSET_CHECK_EVALUATION"
            for e in events):
        # A stopped run reports what it did compute; one that computed nothing (a preflight
        # refusal) has only its error to tell.
        outcome.report_json = _report(result.dagster_run, events)
        outcome.report = report.render_markdown(outcome.report_json)
    return outcome
