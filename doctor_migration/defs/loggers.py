"""A terse logger for the command line: one line per step and per check as they happen."""

from __future__ import annotations

import logging

import dagster as dg

SHOWN_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE", "ASSET_CHECK_EVALUATION",
                "STEP_SKIPPED"}


class _ProgressHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if event is None or event.event_type_value not in SHOWN_EVENTS:
            return
        kind = event.event_type_value
        if kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            mark = "ok  " if data.passed else "FAIL"
            line = f"  [{mark}] check {data.check_name}"
            summary = data.metadata.get("summary")
            if summary is not None:
                line += f": {summary.value}"
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
