"""Dry run, accounting of every source user, reconciliation, step 4 timings, report, explain."""

import json
import re

import psycopg
import pytest

from functools import partial

from doctor_migration import cli, names
from doctor_migration.defs.checks import table_rows
from doctor_migration.demo.world import generate_world
from doctor_migration.migration import accounting, db, live, stage, target
from doctor_migration.migration.accounting import fetch_user_outcomes
from doctor_migration_tests.helpers import make_databases, migrate, snapshot


def stage_world(dbs, stage_id: str = "test-stage") -> str:
    """The world's profiles and source read into a stage on its target, as a run's first two
    steps do; the stage id."""
    timeouts = target.Timeouts()
    with db.connect(dbs.target_url, "target") as conn:
        stage.start(conn, stage_id, "plan", timeouts)
    stage.stage_source(partial(db.connect, dbs.source_url, "source"),
                       partial(db.connect, dbs.target_url, "target"), stage_id, "plan",
                       timeouts)
    return stage_id


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_every_source_user_has_one_outcome_and_migrated_equals_the_plan(servers, seed):
    world = generate_world(120, seed=seed)
    dbs = make_databases(servers, world)
    sid = stage_world(dbs)
    with db.connect(dbs.target_url, "target") as conn:
        tally = accounting.tally(conn, sid)
        by_user = dict(conn.execute("SELECT user_id, outcome FROM doctor_migration.source_users "
                                    "WHERE run_id = %s", (sid,)).fetchall())
        clean = sorted(r[0] for r in conn.execute(
            "SELECT user_id FROM doctor_migration.clean_doctors WHERE run_id = %s", (sid,)))
    assert tally.adds_up
    assert tally.source_users == len(world.users) == len(by_user)
    assert sum(tally.by_outcome.values()) == tally.source_users
    migrated = sorted(u for u, outcome in by_user.items() if outcome == "migrated")
    assert migrated == clean == world.clean_ids
    expected = {"inactive": "inactive", "no_settings_no_office": "no settings and no office",
                "only_archived_patients": "no active patients", "no_patients": "no active patients",
                "test_account": "test/demo/internal account",
                "duplicate_by_name": "duplicate by name"}
    for kind, outcome in expected.items():
        for user in world.by_kind(kind):
            assert by_user[user.id] == outcome, (kind, user.id)
    for user in world.users:
        if user.kind.startswith("duplicate_") and user.kind != "duplicate_by_name" \
                and by_user[user.id].startswith("duplicate"):
            assert by_user[user.id] == "duplicate by e-mail"


def test_accounting_that_disagrees_with_the_plan_fails_its_gate(small_dbs):
    sid = stage_world(small_dbs)
    with small_dbs.target() as conn:
        conn.execute("UPDATE doctor_migration.source_users SET outcome = 'inactive' "
                     "WHERE run_id = %s AND user_id = 3", (sid,))
        conn.execute("UPDATE doctor_migration.source_users SET outcome = 'migrated' "
                     "WHERE run_id = %s AND user_id = (SELECT min(user_id) FROM "
                     "doctor_migration.source_users WHERE outcome = 'inactive' AND user_id <> 3)",
                     (sid,))
    with db.connect(small_dbs.target_url, "target") as conn:
        gate = accounting.every_source_user_accounted_for(accounting.tally(conn, sid))
    assert not gate.passed
    assert sorted(gate.offenders.values()) == [
        "migrated by the accounting, not by the plan's SQL",
        "selected by the plan's SQL, not by the accounting"]
    assert gate.offenders[3] == "selected by the plan's SQL, not by the accounting"


def test_duplicate_names_the_user_it_lost_to(servers):
    world = generate_world(60, seed=8)
    dbs = make_databases(servers, world, with_target=False)
    loser = world.by_kind("duplicate_higher_id")[0]
    winner = next(u for u in world.users if u.kind == "clean"
                  and u.email.strip().lower() == loser.email.strip().lower())
    with psycopg.connect(dbs.source_url) as conn:
        row = fetch_user_outcomes(conn, loser.id)  # explain's read of the source
    assert row["outcome"] == "duplicate by e-mail"
    assert row["duplicate_of"] == winner.id


def test_plan_writes_nothing_and_reports_what_the_run_then_does(small_dbs):
    assert migrate(40).success
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.doctors SET bio = 'stale' WHERE legacy_user_id IN (3, 4)")
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = 40")
    before = snapshot(small_dbs.target_url)
    plan = migrate(39, dry_run=True)
    assert plan.success, plan.failures
    assert snapshot(small_dbs.target_url) == before
    counts = plan.report_json["counts"]
    assert plan.report_json["changed_columns"][0]["column"] == "bio"
    run = migrate(39)
    assert run.success, run.failures
    assert run.report_json["counts"] == counts
    # 3 and 4 differ in bio; 40, now inactive, had no duplicate to take its place: deleted.
    assert (counts["inserted"], counts["updated"], counts["deleted"], counts["unchanged"]) == (
        0, 2, 1, 37)


def test_plan_exits_non_zero_when_a_gate_would_stop(small_dbs):
    before = snapshot(small_dbs.target_url)
    assert cli.main(["plan", "--expected-count", "41"]) == 1
    assert snapshot(small_dbs.target_url) == before


def add_tamper_trigger(dbs) -> None:
    with dbs.target() as conn:
        # A trigger the tool knows nothing about rewrites one migrated row as it is written.
        conn.execute("""
            CREATE FUNCTION public.tamper() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.legacy_user_id = 7 THEN NEW.specialty := 'Tampered'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER tamper BEFORE INSERT ON public.doctors
                FOR EACH ROW EXECUTE FUNCTION public.tamper();""")


def test_row_changed_behind_the_tools_back_is_caught_by_reconciliation(small_dbs):
    """The reconciliation, evaluated inside the load's transaction, rolls the load back and
    names the row and its column; no check result is recorded for the rolled-back load."""
    add_tamper_trigger(small_dbs)
    before = snapshot(small_dbs.target_url)
    outcome = migrate(40)
    assert outcome.exit_code == names.EXIT_STOPPED
    assert outcome.failures == [
        "stopped at loaded_doctors: validation failed before commit, rolled back: "
        "migrated_rows_match_mapping: 40 migrated rows compared with the mapping: 1 differ, "
        "0 missing, 0 not clean (legacy user 7: specialty)"]
    assert [c for c in outcome_checks(outcome) if c.asset_key.path == ["loaded_doctors"]] == []
    assert snapshot(small_dbs.target_url) == before


def test_dry_run_reconciles_what_its_load_wrote_before_rolling_back(small_dbs):
    add_tamper_trigger(small_dbs)
    before = snapshot(small_dbs.target_url)
    plan = migrate(40, dry_run=True)
    assert not plan.success
    # A dry run evaluates no asset check: its op records the results in an observation.
    assert outcome_checks(plan) == []
    failing = [c for c in plan.report_json["checks"] if not c["passed"]]
    assert [c["check"] for c in failing] == ["migrated_rows_match_mapping"]
    [observed] = plan.result.asset_observations_for_node("loaded_doctors")
    assert observed.metadata["dry_run"].value is True
    assert table_rows(observed.metadata["migrated_rows_match_mapping/mismatching_columns"]) == [
        [7, "specialty"]]
    assert snapshot(small_dbs.target_url) == before


def test_native_doctor_changed_during_the_run_is_caught(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("""
            CREATE FUNCTION public.touch_natives() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE public.doctors SET bio = 'touched' WHERE legacy_user_id IS NULL;
                RETURN NULL;
            END $$;
            CREATE TRIGGER touch_natives AFTER INSERT ON public.doctors
                FOR EACH STATEMENT EXECUTE FUNCTION public.touch_natives();""")
    before = snapshot(small_dbs.target_url)
    outcome = migrate(40)
    assert outcome.exit_code == names.EXIT_STOPPED
    [failure] = outcome.failures
    assert failure.startswith(
        "stopped at loaded_doctors: validation failed before commit, rolled back: "
        "native_doctors_untouched: native doctors changed during the run (before: (5, "), failure
    assert snapshot(small_dbs.target_url) == before


def outcome_checks(outcome):
    return outcome.result.get_asset_check_evaluations()


def test_step_4_timings_are_real_explain_output_and_the_index_is_opt_in(small_dbs):
    outcome = migrate(40)
    timings = {t["step"]: t for t in outcome.report_json["timings"]}
    assert set(timings) == {"4.1", "4.2"}
    assert timings["4.2"]["node_types"] == ["Seq Scan"]
    assert timings["4.1"]["execution_ms"] > 0
    assert "CREATE INDEX CONCURRENTLY doctors_legacy_user_id_idx" in outcome.report
    with small_dbs.target() as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'doctors' "
                            "AND indexdef LIKE '%legacy_user_id%'").fetchone()[0] == 0
    indexed = migrate(40, create_indexes=True)
    assert indexed.success, indexed.failures
    with small_dbs.target() as conn:
        conn.execute("ANALYZE public.doctors")
        conn.execute("SET enable_seqscan = off")  # 45 rows: prove the index serves the lookup
        plan = conn.execute("EXPLAIN SELECT * FROM public.doctors WHERE legacy_user_id = 1"
                            ).fetchall()
    assert "doctors_legacy_user_id_idx" in " ".join(r[0] for r in plan)
    assert "doctors_legacy_user_id_idx" in indexed.report


def test_report_command_prints_markdown_and_json(small_dbs, capsys):
    run = migrate(40)
    assert cli.main(["report", run.run_id]) == 0
    assert f"# Doctor migration run `{run.run_id}`" in capsys.readouterr().out
    assert cli.main(["report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["run_id"] == run.run_id
    assert report["counts"]["inserted"] == 40
    assert {a["outcome"] for a in report["accounting"]} >= {"migrated", "source users"}
    assert all(c["passed"] for c in report["checks"])
    assert cli.main(["report", "no-such-run"]) == 1


def test_explain_answers_why_and_hides_pii_unless_asked(small_dbs, capsys):
    run = migrate(40)
    world = small_dbs.world
    assert cli.main(["explain", "1"]) == 0
    out = capsys.readouterr().out
    assert "legacy user 1: migrated" in out
    assert f"run {run.run_id}" in out and "inserted it" in out
    assert world.user(1).email.strip() not in out
    inactive = world.by_kind("inactive")[0]
    assert cli.main(["explain", str(inactive.id)]) == 0
    out = capsys.readouterr().out
    assert "not migrated: inactive" in out and "no doctors row in the target" in out
    loser = world.by_kind("duplicate_by_name")[0]
    assert cli.main(["explain", str(loser.id), "--show-pii"]) == 0
    out = capsys.readouterr().out
    assert "duplicate by name of user" in out and loser.last_name in out
    assert cli.main(["explain", "99999"]) == 2


def test_reconciliation_names_missing_unexpected_and_differing_rows(small_dbs):
    run = migrate(40)
    assert run.success
    with small_dbs.target() as tgt:
        tgt.execute("DELETE FROM public.doctors WHERE legacy_user_id = 3")
        tgt.execute("UPDATE public.doctors SET consultation_fee = 10, status = 'suspended' "
                    "WHERE legacy_user_id = 4")
        tgt.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) "
                    "SELECT profile_id, 424242 FROM public.doctors WHERE legacy_user_id = 5")
    before = snapshot(small_dbs.target_url)
    with db.connect(small_dbs.target_url, "target") as conn:
        result = live.evaluate(conn, "5s").reconciliation  # against the run's digests
    assert not result.passed
    assert result.missing == [3]
    assert result.unexpected == [424242]
    assert result.mismatches == {4: []}  # a digest does not say which columns
    assert (result.differing_count, result.missing_count, result.unexpected_count) == (1, 1, 1)
    assert snapshot(small_dbs.target_url) == before


def test_explain_says_what_each_run_did_in_words_and_utc(small_dbs, capsys):
    """A run that updated one user's row and deleted another's: explain says "updated it" and
    "deleted it", and every time it prints is UTC in ISO 8601, whatever the databases' zones."""
    from doctor_migration_tests.test_rollback import stale_target

    stale_target(small_dbs)  # user 2: a stale migrated row; the inactive user: no longer clean
    inactive = small_dbs.world.by_kind("inactive")[0].id
    for conn in (small_dbs.source(), small_dbs.target()):
        with conn:
            conn.execute(psycopg.sql.SQL("ALTER DATABASE {} SET TimeZone = 'Asia/Kolkata'")
                         .format(psycopg.sql.Identifier(conn.info.dbname)))
    run = migrate(40)
    assert run.success, run.failures
    assert cli.main(["explain", "2"]) == 0
    updated = capsys.readouterr().out
    assert f"  run {run.run_id} (" in updated and ") updated it" in updated, updated
    assert cli.main(["explain", str(inactive)]) == 0
    deleted = capsys.readouterr().out
    assert ") deleted it" in deleted, deleted
    for text in (updated, deleted):
        assert "eed" not in text and "+05" not in text and "IST" not in text, text
        times = re.findall(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d[^\s,)]*", text)
        assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t)
                             for t in times), times
