"""A run or plan that stops still reports what it computed: the counts, the accounting, every
check it evaluated with its result and offenders; `report` shows the newest run's report,
succeeded or stopped, and says which. Failed steps 3.1-3.4 name their offenders' legacy ids."""

from __future__ import annotations

import json

import psycopg

from doctor_migration import names
from doctor_migration import runner
from doctor_migration.migration import db
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.validation import validate_target
from doctor_migration.names import EXIT_STOPPED
from doctor_migration_tests.helpers import lone_clean_ids, migrate, snapshot
from doctor_migration_tests.test_clear_errors import cli

ACCOUNTING = """| outcome | users |
|---|---|
| migrated | 40 |
| inactive | 6 |
| no settings and no office | 6 |
| no active patients | 12 |
| test/demo/internal account | 6 |
| duplicate by e-mail | 12 |
| duplicate by name | 1 |
| source users | 83 |"""
SELECTION_CHECKS = [
    "| clean_doctors | every_clean_doctor_has_one_profile | passed | 40 of 40 clean doctors have "
    "exactly one doctor profile; 0 have none, 0 have more than one |",
    "| clean_doctors | profiles_match_source | passed | 0 of 40 profiles differ from the source "
    "in name or e-mail |",
    "| clean_doctors | no_profile_has_another_doctor | passed | 0 of 40 clean doctors' profiles "
    "already have another doctors row |",
    "| clean_doctors | every_source_user_accounted_for | passed | 83 source users = 40 migrated "
    "+ 43 excluded with a reason |",
]


def test_a_plan_stopped_by_the_count_gate_reports_and_report_shows_it(small_dbs):
    succeeded = migrate(40)
    assert succeeded.success, succeeded.failures
    before = snapshot(small_dbs.target_url)

    code, plan = cli("plan", "--expected-count", "41")
    assert code == EXIT_STOPPED, plan
    run_id = plan.split()[2]
    stop = ("**The plan did not complete: stopped at clean_doctors: check "
            "clean_doctor_count_is_expected failed: 40 clean doctors in the source, 41 "
            "expected.**")
    assert stop in plan
    # As the checks are met, though a dry run records them as observations, not check results.
    assert ("  [FAIL] check clean_doctor_count_is_expected: 40 clean doctors in the source, "
            "41 expected\n") in plan
    assert snapshot(small_dbs.target_url) == before

    code, report = cli("report")
    assert code == 0, report
    target = f"Target: `{db.location(small_dbs.target_url)}`"
    assert report.startswith(f"# Doctor migration plan `{run_id}`\n\n{target}\n\n{stop}\n\n"
                             "**Dry run: nothing was written.**\n\n"
                             "| outcome | doctors |\n|---|---|\n"
                             "| clean doctors in the source | 40 |\n\n"), report
    assert ACCOUNTING in report
    assert ("| clean_doctors | clean_doctor_count_is_expected | **FAILED** | 40 clean doctors "
            "in the source, 41 expected |") in report
    for line in SELECTION_CHECKS:
        assert line in report
    assert "| inserted |" not in report  # the load never ran: no count is made up

    code, text = cli("report", "--json")
    assert code == 0, text
    stored = json.loads(text)
    assert stored["run_id"] == run_id and stored["dry_run"] is True
    assert stored["outcome"] == "stopped"
    assert stored["stops"] == [{"step": "clean_doctors", "reason": (
        "check clean_doctor_count_is_expected failed: 40 clean doctors in the source, "
        "41 expected")}]
    assert stored["counts"] == {"clean_doctors": 40, "inserted": None, "updated": None,
                                "unchanged": None, "deleted": None}
    assert [(c["check"], c["passed"]) for c in stored["checks"]] == [
        ("clean_doctor_count_is_expected", False), ("every_clean_doctor_has_one_profile", True),
        ("profiles_match_source", True), ("no_profile_has_another_doctor", True),
        ("no_clean_doctor_fails_step_3_3", True),
        ("every_source_user_accounted_for", True), ("no_users_merged_under_a_blank_email", True)]

    # The earlier run's report is still there, and says it succeeded.
    code, report = cli("report", succeeded.run_id)
    assert code == 0, report
    assert report.startswith(f"# Doctor migration run `{succeeded.run_id}`\n\n{target}\n\n"
                             "**The run succeeded.**\n\n"), report


def test_a_run_stopped_by_a_profile_gate_reports_its_offenders(small_dbs):
    missing = lone_clean_ids(small_dbs.world)[:2]
    with small_dbs.target() as conn:
        conn.execute("DELETE FROM public.profiles WHERE legacy_user_id = ANY(%s)", (missing,))
    before = snapshot(small_dbs.target_url)
    code, run = cli("run", "--expected-count", "40")
    assert code == EXIT_STOPPED, run
    assert snapshot(small_dbs.target_url) == before
    ids = " ".join(map(str, missing))
    stop = ("**The run did not complete: stopped at clean_doctors: check "
            "every_clean_doctor_has_one_profile failed: 38 of 40 clean doctors have exactly one "
            "doctor profile; 2 have none, 0 have more than one; offending legacy user ids: "
            f"{ids}.**")
    offenders = ("### Offenders of every_clean_doctor_has_one_profile\n\n"
                 "| legacy user id | problem |\n|---|---|\n"
                 + "".join(f"| {uid} | no doctor profile |\n" for uid in missing))
    for text in (run, cli("report")[1]):
        assert stop in text, text
        assert ACCOUNTING in text
        assert ("| clean_doctors | every_clean_doctor_has_one_profile | **FAILED** | 38 of 40 "
                "clean doctors have exactly one doctor profile; 2 have none, 0 have more than "
                f"one; offending legacy user ids: {ids} |") in text
        assert offenders in text
        assert "| clean doctors in the source | 40 |" in text
    assert run.rstrip().endswith("| no doctor profile |")  # the last lines name them too


def test_steps_3_1_to_3_4_name_their_offenders_in_a_plan_and_a_run(small_dbs):
    # The gates (step 3.3 predicted among them) pass; a trigger of the target's own renames
    # the profile's e-mail during the load, and step 3.3 finds it.
    uid = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.target() as conn:
        conn.execute(
            "CREATE FUNCTION public.rename_profile() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE public.profiles SET email = 'ops@brius.com' "
            f"WHERE id = NEW.profile_id AND NEW.legacy_user_id = {int(uid)}; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER rename_profile AFTER INSERT ON public.doctors "
                     "FOR EACH ROW EXECUTE FUNCTION public.rename_profile()")
    summary = f"1 migrated doctors with a test/demo/internal e-mail: legacy user {uid}"
    plan = migrate(40, dry_run=True)
    assert plan.exit_code == EXIT_STOPPED
    assert plan.failures == [f"check no_test_accounts_migrated failed: {summary}"]
    assert plan.report_json["stops"] == [{"step": "loaded_doctors",
                                          "reason": f"check no_test_accounts_migrated failed: "
                                                    f"{summary}"}]
    assert plan.report_json["counts"]["inserted"] == 40  # the counts the plan did make
    run = migrate(40)
    assert run.exit_code == EXIT_STOPPED
    assert run.failures == [f"stopped at loaded_doctors: validation failed before commit, "
                            f"rolled back: step 3.3 no_test_accounts_migrated: {summary}"]
    assert runner.stored_report()["stops"] == [{"step": "loaded_doctors", "reason": (
        f"validation failed before commit, rolled back: step 3.3 no_test_accounts_migrated: "
        f"{summary}")}]


def test_every_validation_names_its_offenders(small_dbs):
    assert migrate(40).success
    clean = small_dbs.world.clean_ids
    gone, doubled, orphaned = lone_clean_ids(small_dbs.world)[:3]
    inactive = small_dbs.world.by_kind("inactive")[0].id
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors DROP CONSTRAINT doctors_profile_id_fkey")
        conn.execute("DELETE FROM public.doctors WHERE legacy_user_id = %s", (gone,))
        conn.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) SELECT profile_id, "
                     "legacy_user_id FROM public.doctors WHERE legacy_user_id = %s", (doubled,))
        conn.execute("UPDATE public.doctors SET profile_id = gen_random_uuid() "
                     "WHERE legacy_user_id = %s", (orphaned,))
        conn.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) "
                     "SELECT id, %s FROM public.profiles WHERE legacy_user_id = %s",
                     (inactive, inactive))
        conn.execute("UPDATE public.profiles SET email = 'qa.test@example.com' "
                     "WHERE legacy_user_id = %s", (inactive,))
    with psycopg.connect(small_dbs.target_url) as conn:  # the clean doctors, as a load stages them
        conn.execute(load_sql("create_doctor_stage"))
        conn.execute("INSERT INTO pg_temp.doctor_stage (legacy_user_id) "
                     "SELECT unnest(%s::bigint[])", (clean,))
        results = {v.name: v for v in validate_target(conn, len(clean))}
    assert not any(v.passed for v in results.values())
    assert results[names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED].offenders == sorted([gone, inactive])
    assert results[names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED].summary == (
        f"41 migrated doctors, 40 clean doctors: legacy users "
        f"{', '.join(map(str, sorted([gone, inactive])))}")
    assert results[names.NO_ORPHANED_DOCTORS].offenders == [orphaned]
    assert results[names.NO_ORPHANED_DOCTORS].summary == \
        f"1 doctors without a profile: legacy user {orphaned}"
    # The doubled legacy user's two rows share its profile.
    assert results[names.NO_PROFILE_HAS_TWO_DOCTORS].offenders == [doubled]
    assert results[names.NO_PROFILE_HAS_TWO_DOCTORS].summary == (
        f"1 profiles of migrated doctors hold more than one doctors row: legacy user {doubled}")
    assert results[names.NO_TEST_ACCOUNTS_MIGRATED].offenders == [inactive]
    assert results[names.LEGACY_IDS_PRESENT_AND_UNIQUE].offenders == sorted([gone, doubled])
    assert results[names.LEGACY_IDS_PRESENT_AND_UNIQUE].summary.startswith(
        "1 clean legacy ids missing, 1 duplicated: ")


def test_report_of_a_run_refused_by_the_preflight_says_where_it_stopped(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors DROP COLUMN npi_number")
    outcome = migrate(40)
    assert outcome.exit_code == names.EXIT_BAD_INPUT
    assert outcome.report is None  # nothing computed: the error is the whole story
    stored = runner.stored_report()
    assert stored["run_id"] == outcome.run_id and stored["outcome"] == "stopped"
    assert stored["stops"] == [{"step": "profile_coverage", "reason": (
        "the target is not ready for the migration, nothing was changed: public.doctors has "
        "no column npi_number")}]
    assert stored["checks"] == [] and stored["accounting"] == []
