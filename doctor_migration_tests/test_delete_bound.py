"""Deletes are bounded (issue 19): a run that would delete more migrated doctors than its limit
stops before any write, naming the count and the first ids; the operator raises the limit from
the command line or the launchpad."""

from __future__ import annotations

import pytest

from doctor_migration import cli, names, runner
from doctor_migration.definitions import defs
from doctor_migration.defs.jobs import MIGRATE_JOB
from doctor_migration.migration.load import delete_limit
from doctor_migration_tests.helpers import doctors, lone_clean_ids, migrate, snapshot


@pytest.mark.parametrize(("migrated_before", "max_deletes", "limit"), [
    (0, None, 10), (200, None, 10), (201, None, 11), (1000, None, 50), (399, None, 20),
    (1000, 0, 0), (40, 25, 25),
])
def test_the_limit_is_the_larger_of_ten_and_five_percent_unless_given(
        migrated_before, max_deletes, limit):
    assert delete_limit(migrated_before, max_deletes) == limit


def _lose_clean_doctors(dbs, count: int) -> list[int]:
    """`count` clean doctors made inactive in the source: a run would delete their rows."""
    plain = {u.id for u in dbs.world.users if u.email and u.email == u.email.strip()}
    gone = sorted(set(lone_clean_ids(dbs.world)) & plain)[:count]
    with dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = ANY(%s)", (gone,))
    return gone


def _sentence(gone: list[int]) -> str:
    return ("stopped at loaded_doctors: the run would delete 11 migrated doctors that are no "
            "longer clean, more than the limit of 10 (the larger of 10 and 5% of the 40 migrated "
            f"doctors before the run); legacy user ids: {', '.join(map(str, gone))}; nothing was "
            "written. If the source really lost them, run again with --max-deletes 11 "
            "(launchpad: settings, max_deletes)")


@pytest.mark.parametrize("raised_from", ["command line", "launchpad"])
def test_a_run_that_would_delete_more_than_the_limit_stops_before_any_write(
        small_dbs, raised_from, capsys):
    assert migrate(40).success
    gone = _lose_clean_doctors(small_dbs, 11)
    before = snapshot(small_dbs.target_url)
    for dry_run in (False, True):  # the plan says the same
        stopped = migrate(29, dry_run=dry_run)
        assert stopped.exit_code == names.EXIT_STOPPED
        assert stopped.failures == [_sentence(gone)]
    assert snapshot(small_dbs.target_url) == before
    if raised_from == "command line":
        assert cli.main(["run", "--expected-count", "29", "--max-deletes", "11"]) == names.EXIT_OK
    else:  # the launchpad's YAML, as an operator types it
        result = defs.resolve_job_def(MIGRATE_JOB).execute_in_process(
            run_config={"resources": {"settings": {"config": {"expected_count": 29,
                                                              "max_deletes": 11}}}},
            instance=runner.instance(), raise_on_error=False)
        assert result.success
    migrated = doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")
    assert sorted(d["legacy_user_id"] for d in migrated.values()) == sorted(
        set(small_dbs.world.clean_ids) - set(gone))


def test_deletes_within_the_limit_need_no_setting(small_dbs):
    assert migrate(40).success
    _lose_clean_doctors(small_dbs, 10)
    outcome = migrate(30)
    assert outcome.success, outcome.failures
    assert outcome.report_json["counts"]["deleted"] == 10
