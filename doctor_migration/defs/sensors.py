"""Start the migration on its own once the profile migration it depends on (phase 1) is done."""

import os
from datetime import UTC, datetime, timedelta

import dagster as dg

from doctor_migration.defs.jobs import migrate_doctors
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.defs.sources import profiles
from doctor_migration.migration.readiness import (
    ProfileState,
    ProfileWatch,
    decide,
    read_profile_state,
)

QUIET_SECONDS_ENV = "DOCTOR_MIGRATION_QUIET_SECONDS"
DEFAULT_QUIET = timedelta(minutes=10)


def quiet_period() -> timedelta:
    """How long the profiles must stay unchanged; read at each evaluation, so an operator can
    change it without reloading the code location."""
    text = os.environ.get(QUIET_SECONDS_ENV, "").strip()
    if not text:
        return DEFAULT_QUIET
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ValueError(f"{QUIET_SECONDS_ENV} must be a number of seconds >= 0, not {text!r}")
    return timedelta(seconds=seconds)


@dg.sensor(
    job=migrate_doctors,
    # Each evaluation runs step 1.1 on the source: once a minute is plenty for a 10-minute wait.
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Requests migrate_doctors once every clean doctor has exactly one doctor "
                "profile and the profiles have not changed for DOCTOR_MIGRATION_QUIET_SECONDS "
                "(default 600); again only after the profiles change.",
)
def profile_migration_sensor(context: dg.SensorEvaluationContext, source: PostgresResource,
                             target: PostgresResource):
    """Phase 1 complete and quiet: migrate, once per state of the doctor profiles. Every
    evaluation also records what it saw as an observation of `profiles`, so the profile
    migration's progress is a plot in the asset catalog."""
    with source.connect() as source_conn, target.connect() as target_conn:
        state = read_profile_state(source_conn, target_conn)
    decision = decide(ProfileWatch.from_json(context.cursor), state,
                      datetime.now(UTC), quiet_period())
    context.update_cursor(decision.watch.to_json())
    observed = [profile_observation(state)]
    if not decision.start:
        return dg.SensorResult(skip_reason=decision.reason, asset_events=observed)
    watch = decision.watch
    return dg.SensorResult(run_requests=[dg.RunRequest(
        run_key=f"profiles-{watch.fingerprint}-{watch.since:%Y%m%dT%H%M%S}",
        tags={"doctor_migration/profiles": watch.fingerprint},
    )], asset_events=observed)


def profile_observation(state: ProfileState) -> dg.AssetObservation:
    """How far the profile migration is: doctor profiles, and clean doctors with exactly one."""
    gate = state.gate
    return dg.AssetObservation(asset_key=profiles.key, description=gate.summary, metadata={
        "doctor_profiles": state.profile_count,
        "clean_doctors": gate.total,
        "clean_doctors_covered": gate.total - len(gate.offenders),
        "complete": gate.passed,
    })
