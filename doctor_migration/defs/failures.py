"""Reasons up front: a refusal, a stop condition or bad input fails its step with a
`dg.Failure` whose description is the operator's one sentence, so the run page shows that
sentence rather than a stack trace. The error's class travels in the Failure's metadata, where
the command line reads it for its exit code (runner.exit_code_for)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import dagster as dg

from doctor_migration.migration.errors import MigrationError, StopMigration

# Failure metadata keys.
ERROR_CLASS = "error_class"  # the class name of the MigrationError, or StopMigration for checks
FAILED_CHECKS = "failed_checks"  # the checks whose failure stopped the step, comma-separated


def failure_for(exc: MigrationError) -> dg.Failure:
    """The step failure that tells `exc`'s sentence."""
    return dg.Failure(description=str(exc), metadata={ERROR_CLASS: type(exc).__name__},
                      allow_retries=False)


# Offending legacy ids named in a failure's sentence; the check's metadata lists them all.
NAMED = 20


def _offenders(result: dg.AssetCheckResult) -> str:
    ids = result.metadata.get("all_offending_legacy_ids")
    ids = str(getattr(ids, "value", ids) or "").split()
    if not ids:
        return ""
    more = f" and {len(ids) - NAMED} more" if len(ids) > NAMED else ""
    return f"; offending legacy user ids: {' '.join(ids[:NAMED])}{more}"


def failure_for_checks(failed: list[dg.AssetCheckResult]) -> dg.Failure:
    """The step failure for checks that failed at ERROR severity: each check, its summary and
    its first offenders."""
    description = "; ".join(f"check {r.check_name} failed: {r.description}{_offenders(r)}"
                            for r in failed)
    return dg.Failure(
        description=description,
        metadata={ERROR_CLASS: StopMigration.__name__,
                  FAILED_CHECKS: ", ".join(r.check_name for r in failed)},
        allow_retries=False)


def fails_with_reason(fn: Callable) -> Callable:
    """Wrap an asset, check or op body: a MigrationError it raises, or a check it yields that
    fails at ERROR severity, fails the step with the sentence as its description.

    Every ERROR check of this code location is blocking (a gate), so Dagster would fail the
    step for it anyway, but with a generic error naming the check only."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            failed = []
            try:
                for event in fn(*args, **kwargs):
                    if (isinstance(event, dg.AssetCheckResult) and not event.passed
                            and event.severity == dg.AssetCheckSeverity.ERROR):
                        failed.append(event)
                    yield event
            except MigrationError as exc:
                raise failure_for(exc) from None
            if failed:
                raise failure_for_checks(failed)
        return generator

    @functools.wraps(fn)
    def plain(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MigrationError as exc:
            raise failure_for(exc) from None
    return plain
