"""The profile migration sensor against real databases: it waits for every clean doctor to have
one doctor profile and for the profiles to stay unchanged, requests one migration, and another
only after the profiles change. Time passes by editing the cursor, not by sleeping."""

import json
from datetime import datetime, timedelta

import dagster as dg
import pytest

from doctor_migration.definitions import defs
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.defs.sensors import QUIET_SECONDS_ENV, profile_migration_sensor


@pytest.fixture
def evaluate(small_dbs):
    """Evaluate the sensor once with `cursor`; returns its tick data."""
    resources = {
        "source": PostgresResource(url=small_dbs.source_url, role="source"),
        "target": PostgresResource(url=small_dbs.target_url, role="target"),
    }
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor: str | None):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        return profile_migration_sensor.evaluate_tick(context)

    return tick


def earlier(cursor: str, seconds: float) -> str:
    """The cursor as if its profiles had been first seen `seconds` earlier."""
    values = json.loads(cursor)
    since = datetime.fromisoformat(values["since"]) - timedelta(seconds=seconds)
    return json.dumps({**values, "since": since.isoformat()})


QUIET = 600  # the default quiet period, in seconds


def test_waits_while_clean_doctors_lack_a_profile(small_dbs, evaluate):
    missing = small_dbs.world.clean_ids[:3]
    with small_dbs.target() as conn:
        conn.execute("DELETE FROM public.profiles WHERE legacy_user_id = ANY(%s)", (missing,))
    tick = evaluate(None)
    assert not tick.run_requests
    assert tick.skip_message == (
        "Profile migration not complete: 37 of 40 clean doctors have exactly one doctor "
        "profile; 3 have none, 0 have more than one.")
    # Even long after, incomplete profiles never start a migration.
    assert not evaluate(earlier(tick.cursor, 10 * QUIET)).run_requests


def test_requests_once_when_complete_and_quiet_then_again_after_a_change(small_dbs, evaluate):
    first = evaluate(None)
    assert not first.run_requests
    assert "Profile migration complete (40 of 40 clean doctors" in first.skip_message
    assert "waiting until" in first.skip_message and "quiet period 10 min" in first.skip_message
    watched = json.loads(first.cursor)
    assert watched["profile_count"] == len(small_dbs.target_world.profile_ids)

    # Not quiet long enough yet.
    almost = evaluate(earlier(first.cursor, QUIET - 30))
    assert not almost.run_requests

    quiet = evaluate(earlier(first.cursor, QUIET + 1))
    [request] = quiet.run_requests  # for the sensor's job, migrate_doctors
    assert request.tags["doctor_migration/profiles"] == watched["fingerprint"]

    # The same profiles, however long after: no second request.
    again = evaluate(earlier(quiet.cursor, 10 * QUIET))
    assert not again.run_requests
    assert again.skip_message.startswith("A migration was already requested for these")

    # The profile migration touches a profile: a new state, quiet again, one new request.
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.profiles SET last_name = last_name || '-Moreau' "
                     "WHERE legacy_user_id = %s", (small_dbs.world.clean_ids[5],))
    changed = evaluate(again.cursor)
    assert not changed.run_requests
    assert json.loads(changed.cursor)["fingerprint"] != watched["fingerprint"]
    assert "waiting until" in changed.skip_message
    [second] = evaluate(earlier(changed.cursor, QUIET + 1)).run_requests
    assert second.run_key != request.run_key


def test_quiet_period_is_read_at_evaluation(small_dbs, evaluate, monkeypatch):
    monkeypatch.setenv(QUIET_SECONDS_ENV, "0")
    assert len(evaluate(None).run_requests) == 1
    monkeypatch.setenv(QUIET_SECONDS_ENV, "soon")
    with pytest.raises(Exception, match=QUIET_SECONDS_ENV):
        evaluate(None)


def test_sensor_and_schedule_are_registered_and_off_by_default():
    sensor = defs.resolve_sensor_def("profile_migration_sensor")
    assert sensor.job_name == "migrate_doctors"
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
    schedule = defs.resolve_schedule_def("dry_run_doctor_migration_daily")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_every_tick_observes_the_profiles(small_dbs, evaluate):
    """Each evaluation, skipped or not, records how far the profile migration is, as an
    observation of the external asset `profiles`: numbers the asset catalog plots."""
    profiles = len(small_dbs.target_world.profile_ids)
    missing = small_dbs.world.clean_ids[:3]
    with small_dbs.target() as conn:
        conn.execute("DELETE FROM public.profiles WHERE legacy_user_id = ANY(%s)", (missing,))
    waiting = evaluate(None)
    [observation] = waiting.asset_events
    assert observation.asset_key == dg.AssetKey("profiles")
    assert observation.description == ("37 of 40 clean doctors have exactly one doctor "
                                       "profile; 3 have none, 0 have more than one")
    assert {k: v.value for k, v in observation.metadata.items()} == {
        "doctor_profiles": profiles - 3, "clean_doctors": 40, "clean_doctors_covered": 37,
        "complete": False}



def test_the_tick_that_starts_the_migration_observes_the_profiles_too(small_dbs, evaluate,
                                                                       monkeypatch):
    monkeypatch.setenv(QUIET_SECONDS_ENV, "0")
    tick = evaluate(None)
    assert len(tick.run_requests) == 1
    [observation] = tick.asset_events
    assert {k: v.value for k, v in observation.metadata.items()} == {
        "doctor_profiles": len(small_dbs.target_world.profile_ids), "clean_doctors": 40,
        "clean_doctors_covered": 40, "complete": True}
