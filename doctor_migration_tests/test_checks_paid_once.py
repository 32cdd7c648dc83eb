"""The checks of loaded_doctors are paid once: evaluated inside the load's transaction and
reported by the load step after its COMMIT, never evaluated again; executed on their own they
compare the live target with the ledger's newest applied run and write nothing (issue 20)."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from doctor_migration import names
from doctor_migration.names import EXIT_STOPPED
from doctor_migration.runner import check, instance, roll_back
from doctor_migration_tests.helpers import lone_clean_ids, migrate, snapshot
from doctor_migration_tests.test_clear_errors import cli

LOADED = dg.AssetKey("loaded_doctors")
# The checks the load evaluates before its COMMIT (step 4's timings are measured after it).
IN_TRANSACTION = [names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED, names.NO_ORPHANED_DOCTORS,
                  names.NO_PROFILE_HAS_TWO_DOCTORS, names.NO_TEST_ACCOUNTS_MIGRATED,
                  names.LEGACY_IDS_PRESENT_AND_UNIQUE, names.MIGRATED_ROWS_MATCH_MAPPING,
                  names.NATIVE_DOCTORS_UNTOUCHED]
# The header comments of the statements that evaluate steps 3.1-3.4 and the reconciliation.
VALIDATION_SQL = "-- Steps 3.1 to 3.4 of the plan"
RECONCILIATION_SQL = "-- Reconciliation: every migrated doctors row"


def evaluations(run_id: str) -> dict[str, tuple[str, bool]]:
    """The checks of loaded_doctors a run evaluated: name -> (the step that reported it,
    passed)."""
    return {e.dagster_event.event_specific_data.check_name: (
        e.dagster_event.step_key, e.dagster_event.event_specific_data.passed)
        for e in instance().all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if e.dagster_event.event_specific_data.asset_key == LOADED}


def latest_results(check_name: str) -> list[tuple[str, bool]]:
    """(run id, passed) of a check of loaded_doctors' evaluations, newest first."""
    records = instance().event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(LOADED, check_name), limit=20)
    return [(r.run_id, r.event.dagster_event.event_specific_data.passed)
            for r in records if r.event is not None
            and r.event.dagster_event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """The text of every statement the tool sends in this process."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor, query, *args, **kwargs):
        sent.append(query if isinstance(query, str) else query.as_string(cursor))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    return sent


def test_a_run_evaluates_its_checks_once_in_the_load_and_reports_them_after_commit(
        small_dbs, statements):
    run = migrate(40)
    assert run.success, run.failures
    found = evaluations(run.run_id)
    assert set(found) == {*IN_TRANSACTION, names.PROFILE_JOIN_UNDER_100MS,
                          names.LEGACY_ID_LOOKUP_UNDER_10MS}
    assert {step for step, _ in found.values()} == {"loaded_doctors"}
    assert all(passed for name, (_, passed) in found.items() if name in IN_TRANSACTION)
    # Once each: inside the load's transaction, none after its COMMIT.
    assert sum(VALIDATION_SQL in s for s in statements) == 1
    assert sum(RECONCILIATION_SQL in s for s in statements) == 1


def test_a_check_failing_inside_the_transaction_changes_nothing_and_records_no_result(
        small_dbs):
    first = migrate(40)
    assert first.success, first.failures
    # A clean doctor to insert again, and a trigger of the target's own that renames its
    # profile to an internal e-mail as the load inserts it: step 3.3 fails before COMMIT.
    uid = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.target() as conn:
        conn.execute("DELETE FROM public.doctors WHERE legacy_user_id = %s", (uid,))
        conn.execute(
            "CREATE FUNCTION public.rename_profile() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE public.profiles SET email = 'ops@brius.com' "
            f"WHERE id = NEW.profile_id AND NEW.legacy_user_id = {int(uid)}; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER rename_profile AFTER INSERT ON public.doctors "
                     "FOR EACH ROW EXECUTE FUNCTION public.rename_profile()")
    before = snapshot(small_dbs.target_url)
    second = migrate(40)
    assert second.exit_code == EXIT_STOPPED
    assert second.failures == [
        "stopped at loaded_doctors: validation failed before commit, rolled back: step 3.3 "
        f"{names.NO_TEST_ACCOUNTS_MIGRATED}: 1 migrated doctors with a test/demo/internal "
        f"e-mail: legacy user {uid}"]
    assert snapshot(small_dbs.target_url) == before
    assert evaluations(second.run_id) == {}
    # The asset's check history: the results of the load that is live, the first.
    for name in IN_TRANSACTION:
        assert latest_results(name)[0] == (first.run_id, True), name


def test_the_checks_alone_pass_on_a_migrated_target_and_write_nothing(small_dbs):
    run = migrate(40)
    assert run.success, run.failures
    before = snapshot(small_dbs.target_url)
    code, out = cli("check")
    assert code == 0, out
    assert (f"[pass] {names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED}: against run {run.run_id}: 40 "
            "migrated doctors, 40 clean doctors") in out
    assert (f"[pass] {names.MIGRATED_ROWS_MATCH_MAPPING}: against run {run.run_id}: 40 "
            "migrated rows compared with the mapping: 0 differ, 0 missing, 0 not clean") in out
    assert snapshot(small_dbs.target_url) == before
    alone = out.split()[2]
    assert {step for step, _ in evaluations(alone).values()} == {"loaded_doctors"}
    assert len(evaluations(alone)) == len(IN_TRANSACTION) + 2


def test_the_checks_alone_name_rows_edited_or_deleted_by_hand(small_dbs):
    run = migrate(40)
    assert run.success, run.failures
    edited, deleted = lone_clean_ids(small_dbs.world)[:2]
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.doctors SET bio = 'edited by hand' "
                     "WHERE legacy_user_id = %s", (edited,))
        conn.execute("DELETE FROM public.doctors WHERE legacy_user_id = %s", (deleted,))
    before = snapshot(small_dbs.target_url)
    outcome = check(progress=False)
    assert outcome.exit_code == EXIT_STOPPED
    assert snapshot(small_dbs.target_url) == before
    lines = outcome.report.splitlines()
    assert (f"[FAIL] {names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED}: against run {run.run_id}: 39 "
            f"migrated doctors, 40 clean doctors: legacy user {deleted}") in lines
    assert (f"[FAIL] {names.MIGRATED_ROWS_MATCH_MAPPING}: against run {run.run_id}: 39 migrated "
            "rows compared with the mapping: 1 differ, 1 missing, 0 not clean") in lines
    assert (f"[FAIL] {names.LEGACY_IDS_PRESENT_AND_UNIQUE}: against run {run.run_id}: 1 clean "
            f"legacy ids missing, 0 duplicated: legacy user {deleted}") in lines
    assert f"[pass] {names.NATIVE_DOCTORS_UNTOUCHED}" in outcome.report
    [reconciled] = [e.dagster_event.event_specific_data for e in instance().all_logs(
        outcome.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        if e.dagster_event.event_specific_data.check_name == names.MIGRATED_ROWS_MATCH_MAPPING]
    named = reconciled.metadata
    assert [r.data["legacy_user_id"] for r in named["mismatching_columns"].value.records] == [
        edited]
    assert [r.data["legacy_user_id"] for r in named["missing_legacy_ids"].value.records] == [
        deleted]


def test_after_a_rollback_the_checks_alone_compare_with_the_run_before_or_say_there_is_none(
        small_dbs):
    first = migrate(40)
    assert first.success, first.failures
    gone = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
    second = migrate(39)
    assert second.success, second.failures
    assert check(progress=False).exit_code == 0
    assert roll_back(second.run_id, progress=False).success
    after_one = check(progress=False)
    assert after_one.exit_code == 0, after_one.report
    assert (f"[pass] {names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED}: against run {first.run_id}: 40 "
            "migrated doctors, 40 clean doctors") in after_one.report
    assert roll_back(first.run_id, progress=False).success
    after_both = check(progress=False)
    assert after_both.exit_code == 0, after_both.report
    assert (f"[pass] {names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED}: no applied run in the ledger "
            "(none committed, or every one rolled back): 0 migrated doctors, 0 clean "
            "doctors") in after_both.report
    # A migrated row that no applied run made fails the count.
    with small_dbs.target() as conn:
        conn.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) SELECT id, "
                     "legacy_user_id FROM public.profiles WHERE legacy_user_id = %s "
                     "AND profile_type = 'doctor'", (gone,))
    stray = check(progress=False)
    assert stray.exit_code == EXIT_STOPPED
    assert (f"[FAIL] {names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED}: no applied run in the ledger "
            "(none committed, or every one rolled back): 1 migrated doctors, 0 clean doctors: "
            f"legacy user {gone}") in stray.report


def test_the_checks_alone_refuse_a_run_recorded_without_digests(small_dbs):
    run = migrate(40)
    assert run.success, run.failures
    with small_dbs.target() as conn:  # as a version before run_digests left it
        conn.execute("DELETE FROM doctor_migration.run_digests")
    outcome = check(progress=False)
    assert outcome.exit_code == EXIT_STOPPED
    assert outcome.failures == [
        f"stopped at loaded_doctors: the newest applied run, {run.run_id}, was recorded by a "
        "version that kept no digests of what a run left, so the checks have nothing to "
        "compare the target with: run the migration again (a rerun on unchanged data writes "
        "no doctor)"]
    again = migrate(40)
    assert again.success, again.failures
    assert check(progress=False).exit_code == 0
