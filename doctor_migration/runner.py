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
from doctor_migration.defs.checks import CHECK_RESULTS, evaluation_entry, table_rows
from doctor_migration.defs.jobs import CHECK_JOB, DRY_RUN_JOB, MIGRATE_JOB
from doctor_migration.migration import report, target
from doctor_migration.migration.db import location
from doctor_migration.migration.errors import DatabaseBusy, MigrationError, StopMigration
from doctor_migration.migration.ledger import RollbackRefused
from doctor_migration.names import (
    EXIT_BAD_INPUT,
    EXIT_BUSY,
    EXIT_COMMITTED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STOPPED,
    EXPECTED_COUNT,
    LOCK_TIMEOUT,
    TARGET_TAG,
)

# The exit code for each kind of error, by type (a subclass, e.g. stage.StageGone, a
# DatabaseBusy, has its base's): a stop condition of the plan or a refusal, another session in
# the way; any other MigrationError is bad input.
EXIT_CODES = {StopMigration: EXIT_STOPPED, RollbackRefused: EXIT_STOPPED, DatabaseBusy: EXIT_BUSY}


def _error_types(base: type[MigrationError] = MigrationError) -> dict[str, type]:
    """Every MigrationError class by the name a Failure's error_class carries."""
    types = {base.__name__: base}
    for subclass in base.__subclasses__():
        types |= _error_types(subclass)
    return types


def exit_code_for(error_class: str) -> int:
    """The exit code for the error a step failed with, from its class (the Failure's
    error_class, defs/failures.py); an unknown class is bad input."""
    error_type = _error_types().get(error_class, MigrationError)
    return next((code for kind, code in EXIT_CODES.items() if issubclass(error_type, kind)),
                EXIT_BAD_INPUT)


ROLLBACK_JOB = "rollback_doctor_migration"
# The jobs whose runs have a report: a run, a dry run, and the UI's "Materialize all".
REPORTED_JOBS = (MIGRATE_JOB, DRY_RUN_JOB, "__ASSET_JOB")
INTERRUPTED_LINE = "interrupted: the target's transaction was rolled back"
INTERRUPTED_AFTER_COMMIT = ("interrupted after the load committed: the steps after it did not "
                            "all run")


def committed_line(run_id: str) -> str:
    """The last line of a run whose load committed before a later step failed or was
    interrupted."""
    return (f"the migration WAS committed before that: run {run_id}'s doctors are migrated; "
            f"undo it with `doctor-migration rollback {run_id}`")


class _QuietRollback(logging.Filter):
    """psycopg warns when the rollback of a transaction interrupted mid-query cannot be sent;
    the connection is closed right after, which ends the transaction on the server."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored in rollback")


logging.getLogger("psycopg.transaction").addFilter(_QuietRollback())


class _QuietInstance(logging.Filter):
    """Dagster warns on every command when DAGSTER_HOME has no dagster.yaml; keeping runs in
    SQLite files there is what docs/dagster.md documents for that case."""

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
    exit_code: int = EXIT_OK
    result: dg.ExecuteInProcessResult | None = None
    # For a migration run or plan that did not complete: what it left on the target.
    written: str | None = None


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


def dagster_home() -> Path:
    """Where runs are recorded: DAGSTER_HOME, or ./.dagster_home when it is unset."""
    return Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / ".dagster_home").resolve()


def instance() -> dg.DagsterInstance:
    """The instance at dagster_home() (created with telemetry off when missing), so runs show
    in the UI; telemetry off unless its dagster.yaml turns it on. Opened once per home and
    process: opening one costs a third of a second. Reads the environment, never changes it:
    whoever starts Dagster elsewhere (the demo's UI) hands it dagster_home()."""
    home = dagster_home()
    if home in _instances:
        return _instances[home]
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
        # DagsterInstance.get() with settings on top: local_temp reads the dagster.yaml in the
        # directory it is given and keeps everything there, as get() does with DAGSTER_HOME.
        return _instances.setdefault(home, dg.DagsterInstance.local_temp(
            str(home), overrides=_telemetry_settings(home)))
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


@dataclass
class RunEvents:
    """What a run recorded, as its report reads it: each asset's metadata values (of its
    materialization, or in a dry run, of its observation), every check's result with the step
    that evaluated it, and the failures of its steps."""

    records: dict[str, dict]
    checks: list[tuple[str, dict]]
    step_failures: list[dg.DagsterEvent]

    @classmethod
    def of(cls, materializations: list[dg.DagsterEvent], observations: list[dg.DagsterEvent],
           check_evaluations: list[dg.DagsterEvent],
           step_failures: list[dg.DagsterEvent]) -> RunEvents:
        records, checks = {}, []
        for event in materializations:
            materialization = event.event_specific_data.materialization
            records[materialization.asset_key.to_user_string()] = {
                k: v.value for k, v in materialization.metadata.items()}
        for event in observations:
            observation = event.asset_observation_data.asset_observation
            meta = {k: v.value for k, v in observation.metadata.items()}
            checks += [(event.step_key, entry) for entry in meta.pop(CHECK_RESULTS, [])]
            records.setdefault(observation.asset_key.to_user_string(), {}).update(meta)
        checks += [(event.step_key, evaluation_entry(event.event_specific_data))
                   for event in check_evaluations]
        return cls(records, checks, step_failures)

    @classmethod
    def of_result(cls, result: dg.ExecuteInProcessResult) -> RunEvents:
        return cls.of(
            result.get_asset_materialization_events(), result.get_asset_observation_events(),
            result.filter_events(
                lambda e: e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION),
            result.get_step_failure_events())

    @classmethod
    def of_stored(cls, inst: dg.DagsterInstance, run_id: str) -> RunEvents:
        def logged(kind: dg.DagsterEventType) -> list[dg.DagsterEvent]:
            return [entry.dagster_event for entry in inst.all_logs(run_id, of_type=kind)]
        return cls.of(logged(dg.DagsterEventType.ASSET_MATERIALIZATION),
                      logged(dg.DagsterEventType.ASSET_OBSERVATION),
                      logged(dg.DagsterEventType.ASSET_CHECK_EVALUATION),
                      logged(dg.DagsterEventType.STEP_FAILURE))


def _check_failures(checks: list[tuple[str, dict]]) -> list[str]:
    """One line per failed check, with its offenders."""
    lines = []
    for _, entry in checks:
        if entry["passed"]:
            continue
        line = f"check {entry['check']} " + (
            "warned" if entry["severity"] == dg.AssetCheckSeverity.WARN.value else "failed")
        if entry["summary"]:
            line += f": {entry['summary']}"
        if entry.get("offenders"):
            line += f"; offending legacy user ids: {entry['offenders']}"
        if entry.get("offending_users"):
            line += "\n" + entry["offending_users"]
        lines.append(line)
    return lines


def _interrupted(step_failures: list[dg.DagsterEvent]) -> bool:
    # The error is Dagster's serialized copy: only its class's name survives.
    return any(event.step_failure_data.error is not None
               and event.step_failure_data.error.cls_name == "DagsterExecutionInterruptedError"
               for event in step_failures)


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


def _step_errors(step_failures: list[dg.DagsterEvent]) -> list[tuple[str, str | None, str, bool]]:
    """(step key, the migration's error class, its sentence, whether failed blocking checks
    stopped the step) of each failed step; the class is None for an error no Failure
    describes (a bug, a crash)."""
    errors = []
    for event in step_failures:
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


def _step_failures(step_failures: list[dg.DagsterEvent]) -> tuple[list[str], int]:
    """One line per failed step, with the migration's own sentence; and the exit code they
    call for: EXIT_BUSY when another session was in the way, EXIT_BAD_INPUT for an error of input or
    environment, else EXIT_STOPPED (a stop condition of the plan, a refusal)."""
    lines, codes = [], set()
    for step, error_class, message, checks_failed in _step_errors(step_failures):
        if error_class is None:
            lines.append(f"error at {step}: {message}")
            continue
        code = exit_code_for(error_class)
        codes.add(code)
        if checks_failed:
            continue  # told by the check lines
        verb = "stopped" if code == EXIT_STOPPED else "error"
        lines.append(f"{verb} at {step}: {message}")
    return lines, next((code for code in (EXIT_BUSY, EXIT_BAD_INPUT) if code in codes),
                       EXIT_STOPPED)


def _stopped_report(run: dg.DagsterRun, recorded: RunEvents) -> dict:
    """What a run that did not reach validation_report computed, from its events: what it
    recorded of each asset, every check it evaluated, and its failed steps."""
    checks = [dict(entry) for _, entry in recorded.checks]
    timings = sorted((c.pop("timing") for c in checks if "timing" in c), key=lambda t: t["step"])
    stops = []
    for step, _, message, checks_failed in _step_errors(recorded.step_failures):
        if checks_failed:
            message = "; ".join(
                f"check {c['check']} failed: {c['summary']}"
                + (f"; offending legacy user ids: {c['offenders']}" if c["offenders"] else "")
                for at, c in recorded.checks
                if at == step and not c["passed"] and c["severity"] == "ERROR")
        stops.append({"step": step, "reason": message})
    selection = recorded.records.get("clean_doctors", {})
    load = recorded.records.get("loaded_doctors", {})
    dry_run = run.job_name == DRY_RUN_JOB
    counts = {"clean_doctors": selection.get("dagster/row_count", selection.get("rows")),
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
        accounting=table_rows(selection.get("accounting")), checks=checks, timings=timings,
        legacy_id_index=None if index in (None, "none") else index,
        load_seconds=load.get("load_seconds"), load_committed="inserted" in load and not dry_run)


def _report(run: dg.DagsterRun, recorded: RunEvents) -> dict:
    """The report of a migration run or dry run: the one its validation_report step made, or,
    for a run that stopped before it, what the run's own events say it computed and where it
    stopped."""
    stored = recorded.records.get("validation_report", {}).get("report_json")
    if stored is not None:
        found = {"outcome": report.SUCCEEDED, "stops": [], **stored}
    else:
        found = _stopped_report(run, recorded)
    return {**found, "target": run.tags.get(TARGET_TAG)}


def migrate(expected_count: int = EXPECTED_COUNT, *, dry_run: bool = False,
            lock_timeout: str = LOCK_TIMEOUT,
            create_indexes: bool = False, max_deletes: int | None = None,
            run_id: str | None = None,
            progress: bool = True) -> RunOutcome:
    """A migration run (or with dry_run, a plan) in the DAGSTER_HOME instance."""
    from doctor_migration.defs.config import migration_run_config

    job = DRY_RUN_JOB if dry_run else MIGRATE_JOB
    outcome = launch(job, migration_run_config(expected_count, dry_run, lock_timeout,
                                               create_indexes, max_deletes),
                     run_id=run_id, progress=progress)
    if outcome.exit_code:
        _ending(outcome, dry_run, lock_timeout)
    return outcome


def _load_committed(outcome: RunOutcome, lock_timeout: str) -> tuple[bool | None, str]:
    """Whether the run's load committed (target.ledger_says): its loaded_doctors
    materialization says it did; when that step failed instead (the connection lost during
    its COMMIT, say), the ledger knows. A run that stopped before its load wrote nothing."""
    if outcome.result.asset_materializations_for_node("loaded_doctors"):
        return True, ""
    if not any(event.step_key == "loaded_doctors"
               for event in outcome.result.get_step_failure_events()):
        return False, ""
    return target.ledger_says(os.environ.get("SUPABASE_DATABASE_URL", ""), outcome.run_id,
                              lock_timeout)


def _ending(outcome: RunOutcome, dry_run: bool, lock_timeout: str) -> None:
    """What a run that did not complete left on the target. Once its load committed, whatever
    failed after it (a check, a lost target, another command, Ctrl-C) ends the run with
    EXIT_COMMITTED and a last line that says so: 1, 75 and 130 promise nothing was changed."""
    if dry_run:
        outcome.written = target.PLAN_WROTE_NOTHING
        return
    committed, why = _load_committed(outcome, lock_timeout)
    outcome.written = target.written(outcome.run_id, committed, why)
    if committed:
        if outcome.exit_code == EXIT_INTERRUPTED:
            outcome.failures = [INTERRUPTED_AFTER_COMMIT]
        outcome.exit_code = EXIT_COMMITTED
        outcome.failures.append(committed_line(outcome.run_id))


def _newest_migration_run(inst: dg.DagsterInstance, target: str) -> str | None:
    """The newest run of the migration's assets against `target` (its TARGET_TAG): a run or
    a plan."""
    records = [record for job in REPORTED_JOBS
               for record in inst.get_run_records(
                   dg.RunsFilter(job_name=job, tags={TARGET_TAG: target}), limit=1)]
    newest = max(records, key=lambda r: r.create_timestamp, default=None)
    return newest.dagster_run.run_id if newest else None


def stored_report(run_id: str | None = None) -> dict | None:
    """The report (JSON form) of a run recorded in the DAGSTER_HOME instance, whether it
    succeeded or stopped; when run_id is None, the newest run's against the current target
    (SUPABASE_DATABASE_URL). None for an unknown run id, a rollback's, or no migration run
    against the current target."""
    inst = instance()
    if run_id is None:
        url = os.environ.get("SUPABASE_DATABASE_URL")
        run_id = _newest_migration_run(inst, location(url)) if url else None
    run = inst.get_run_by_id(run_id) if run_id else None
    if run is None or run.job_name == ROLLBACK_JOB:
        return None
    return _report(run, RunEvents.of_stored(inst, run_id))


def roll_back(run_id: str, *, lock_timeout: str = LOCK_TIMEOUT,
              progress: bool = True) -> RunOutcome:
    """A rollback_doctor_migration run for `run_id` (empty: the newest run that changed
    doctors and is not rolled back) in the DAGSTER_HOME instance."""
    from doctor_migration.defs.rollback import RollbackConfig

    return launch(ROLLBACK_JOB,
                  dg.RunConfig(ops={"rollback_run": RollbackConfig(
                      run_id=run_id, lock_timeout=lock_timeout)}),
                  progress=progress)


def check(lock_timeout: str = LOCK_TIMEOUT, *, run_id: str | None = None,
          progress: bool = True) -> RunOutcome:
    """The check_loaded_doctors job in the DAGSTER_HOME instance: every check of loaded_doctors
    on the live target, against the ledger's newest applied run. It writes nothing; a failed
    check that is not a warning ends it with EXIT_STOPPED."""
    from doctor_migration.defs.config import SETTINGS, MigrationSettings

    outcome = launch(CHECK_JOB, dg.RunConfig(resources={
        SETTINGS: MigrationSettings(lock_timeout=lock_timeout)}), run_id=run_id,
        progress=progress)
    evaluated = RunEvents.of_result(outcome.result).checks
    if outcome.success and any(not entry["passed"] and entry["severity"] == "ERROR"
                               for _, entry in evaluated):
        outcome.exit_code = EXIT_STOPPED
    outcome.report = "\n".join(
        f"[{'pass' if entry['passed'] else 'WARN' if entry['severity'] == 'WARN' else 'FAIL'}] "
        f"{entry['check']}: {entry['summary']}" for _, entry in evaluated)
    return outcome


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
    recorded = RunEvents.of_result(result)
    step_lines, exit_code = _step_failures(recorded.step_failures)
    outcome.failures = _check_failures(recorded.checks) + step_lines
    if not result.success:
        outcome.exit_code = exit_code
    if _interrupted(recorded.step_failures):
        outcome.exit_code, outcome.failures = EXIT_INTERRUPTED, [INTERRUPTED_LINE]
    elif job_name in (MIGRATE_JOB, DRY_RUN_JOB) and (recorded.records or recorded.checks):
        # A stopped run reports what it did compute; one that computed nothing (a preflight
        # refusal) has only its error to tell.
        # The run as stored now: its first step tagged it with its target.
        outcome.report_json = _report(instance().get_run_by_id(run_id), recorded)
        outcome.report = report.render_markdown(outcome.report_json)
    return outcome
