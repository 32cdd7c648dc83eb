"""A terse logger for the command line: one line per step and per check as they happen."""

from __future__ import annotations

import logging

import dagster as dg

from doctor_migration.defs.checks import CHECK_RESULTS

SHOWN_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "ASSET_CHECK_EVALUATION",
                "STEP_SKIPPED", "ASSET_OBSERVATION"}


def _check_line(check: str, passed: bool, severity: str, summary: str | None) -> str:
    mark = "ok  " if passed else "warn" if severity == dg.AssetCheckSeverity.WARN.value else "FAIL"
    return f"  [{mark}] check {check}" + (f": {summary}" if summary is not None else "")


class _ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if event is None or event.event_type_value not in SHOWN_EVENTS:
            return
        kind = event.event_type_value
        if kind == "ASSET_OBSERVATION":
            recorded = event.asset_observation_data.asset_observation.metadata.get(CHECK_RESULTS)
            lines = [_check_line(c["check"], c["passed"], c["severity"], c["summary"])
                     for c in (recorded.value if recorded else [])]
            if not lines:
                return
            line = "\n".join(lines)
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            summary = data.metadata.get("summary")
            line = _check_line(data.check_name, data.passed, data.severity.value,
                               None if summary is None else summary.value)
        elif kind == "STEP_START":
            line = f"- {event.step_key} ..."
        elif kind == "STEP_SUCCESS":
            line = f"  done {event.step_key}"
        elif kind == "STEP_SKIPPED":
            line = f"  skipped {event.step_key}"
        else:
            line = f"  FAILED {event.step_key}"
        print(line, flush=True)


@dg.logger(description="One line per step and per check, for the doctor-migration command.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("doctor_migration.progress")
    logger.handlers = [_ProgressHandler()]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger
