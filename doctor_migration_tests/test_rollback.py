"""Every run can be undone exactly, by run id; a rollback that would lose work is refused."""

import os
import re
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from doctor_migration import cli
from doctor_migration.migration.db import load_sql
from doctor_migration.runner import roll_back
from doctor_migration_tests.helpers import doctors, lone_clean_ids, migrate, snapshot, started


def state(url: str) -> dict:
    """Every column of every doctors row except updated_at (the target's trigger sets it)."""
    return {k: {c: v for c, v in row.items() if c != "updated_at"}
            for k, row in doctors(url).items()}


def stale_target(dbs) -> None:
    """Migrated rows from before the ledger: stale values, one referenced, one whose user is
    no longer clean; a column this project does not know."""
    inactive = dbs.world.by_kind("inactive")[0].id
    with dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ADD COLUMN internal_note text DEFAULT 'n/a'")
        for uid in (2, 3, inactive):
            conn.execute(
                "INSERT INTO public.doctors (profile_id, legacy_user_id, bio, years_experience, "
                "internal_note, created_at) SELECT id, legacy_user_id, 'old bio', 1, "
                "'hand-made', '2021-03-04' FROM public.profiles "
                "WHERE legacy_user_id = %s AND profile_type = 'doctor'", (uid,))
        conn.execute("INSERT INTO public.appointments (doctor_id) "
                     "SELECT id FROM public.doctors WHERE legacy_user_id = 2")


def test_rolling_back_a_first_run_restores_the_table_exactly(small_dbs):
    stale_target(small_dbs)
    before = state(small_dbs.target_url)
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    assert "| updated in place | 2 |" in outcome.report
    assert "| deleted (no longer clean) | 1 |" in outcome.report
    assert "| inserted | 38 |" in outcome.report
    assert state(small_dbs.target_url) != before
    undo = roll_back(outcome.run_id, progress=False)
    assert undo.success, undo.failures
    assert state(small_dbs.target_url) == before
    with small_dbs.target() as conn:
        assert conn.execute("SELECT count(*) FROM public.appointments").fetchone()[0] == 6


def test_roll_back_the_second_run_then_the_first(small_dbs):
    before = state(small_dbs.target_url)
    first = migrate(40)
    after_first = state(small_dbs.target_url)
    gone, moved = lone_clean_ids(small_dbs.world)[:2]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
        conn.execute("UPDATE auth_user SET date_joined = '2001-01-01 10:00Z' WHERE id = %s",
                     (moved,))
    second = migrate(39)
    assert second.success, second.failures
    assert "| deleted (no longer clean) | 1 |" in second.report
    assert "| updated in place | 1 |" in second.report
    refused = roll_back(first.run_id, progress=False)
    assert not refused.success
    assert f"later runs changed the same doctors and are not rolled back: {second.run_id}" \
        in "\n".join(refused.failures)
    assert roll_back(second.run_id, progress=False).success
    assert state(small_dbs.target_url) == after_first
    assert roll_back(first.run_id, progress=False).success
    assert state(small_dbs.target_url) == before


def refused(run_id: str, *needles: str, url: str) -> None:
    before = snapshot(url)
    outcome = roll_back(run_id, progress=False)
    assert not outcome.success
    assert outcome.exit_code == 1, outcome.failures
    text = "\n".join(outcome.failures)
    for needle in needles:
        assert needle in text, (needle, text)
    assert snapshot(url) == before


def test_row_edited_since_the_run_is_refused(small_dbs):
    run = migrate(40)
    with small_dbs.target() as conn:
        did = conn.execute("UPDATE public.doctors SET bio = 'edited by staff' "
                           "WHERE legacy_user_id = 5 RETURNING id").fetchone()[0]
    refused(run.run_id, f"doctors row {did} (legacy user 5, inserted by the run): changed since",
            url=small_dbs.target_url)


def test_inserted_row_now_referenced_is_refused(small_dbs):
    run = migrate(40)
    with small_dbs.target() as conn:
        did = conn.execute("SELECT id FROM public.doctors WHERE legacy_user_id = 8").fetchone()[0]
        conn.execute("INSERT INTO public.appointments (doctor_id) VALUES (%s)", (did,))
    refused(run.run_id, f"public.appointments has 1 row(s) referencing doctors row {did}",
            url=small_dbs.target_url)


def test_unknown_run_is_refused(small_dbs):
    migrate(40)
    refused("no-such-run", "no run no-such-run in the ledger", url=small_dbs.target_url)


def test_rolling_back_twice_is_refused(small_dbs):
    run = migrate(40)
    assert roll_back(run.run_id, progress=False).success
    refused(run.run_id, f"run {run.run_id} was already rolled back", url=small_dbs.target_url)


def history(capsys) -> list[tuple[str, list[str], str]]:
    """`doctor-migration history`, newest first: (run id, [expected, ins, upd, del, same],
    state) for each run, cut at the columns the header starts."""
    assert cli.main(["history"]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    names = ["run id", "started (UTC)", "by", "version", "expected", "ins", "upd", "del", "same",
             "state"]
    starts = [header.index(name) for name in names] + [None]
    rows = []
    for line in lines:
        cells = [line[a:b].strip() for a, b in zip(starts, starts[1:])]
        rows.append((cells[0], cells[4:9], cells[9]))
    return rows


def test_history_and_rollback_last_from_the_command_line(small_dbs, capsys):
    first = migrate(40)
    second = migrate(40)  # a rerun on the same data: it changed nothing
    assert history(capsys) == [(second.run_id, ["40", "0", "0", "0", "40"], "changed nothing"),
                               (first.run_id, ["40", "40", "0", "0", "0"], "applied")]
    assert cli.main(["rollback", "--last"]) == 0
    capsys.readouterr()
    newest, (oldest, counts, state) = history(capsys)
    assert newest == (second.run_id, ["40", "0", "0", "0", "40"], "changed nothing")
    assert (oldest, counts) == (first.run_id, ["40", "40", "0", "0", "0"])
    assert re.fullmatch(r"rolled back \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by postgres \(.+\)",
                        state), state
    assert cli.main(["rollback", first.run_id]) == 1


def test_killed_rollback_leaves_the_table_as_it_was(small_dbs, tmp_path):
    run = migrate(40)
    before = snapshot(small_dbs.target_url)
    blocker = psycopg.connect(small_dbs.target_url)
    blocker.execute("LOCK TABLE public.doctors IN ACCESS EXCLUSIVE MODE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "doctor_migration.cli", "rollback", run.run_id],
        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with small_dbs.target() as conn:
            for _ in range(300):  # until the rollback waits for the lock
                if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                                "'Lock' AND application_name LIKE 'doctor-migration rollback%'"
                                ).fetchone()[0]:
                    break
                time.sleep(0.1)
            else:
                pytest.fail("the rollback never reached the lock")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        blocker.close()
    with small_dbs.target() as conn:
        for _ in range(50):  # the server notices the dead client and ends its session
            left = conn.execute("SELECT count(*) FROM pg_stat_activity "
                                "WHERE application_name LIKE 'doctor-migration%'").fetchone()[0]
            if not left:
                break
            time.sleep(0.1)
        assert left == 0
    assert snapshot(small_dbs.target_url) == before
    assert roll_back(run.run_id, progress=False).success


def rollback_job_with_its_defaults():
    """rollback_doctor_migration as its launchpad opens: run_id empty."""
    import dagster as dg

    from doctor_migration.runner import launch

    outcome = launch("rollback_doctor_migration", dg.RunConfig(), progress=False)
    messages = [entry.user_message for entry in dg.DagsterInstance.get().all_logs(outcome.run_id)]
    return outcome, messages


def test_rollback_job_without_a_run_id_undoes_the_newest_applied_run(small_dbs):
    before = state(small_dbs.target_url)
    first = migrate(40)
    after_first = state(small_dbs.target_url)
    gone = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
    second = migrate(39)
    assert second.success, second.failures
    # The report's Ledger section names both ways to undo a run.
    assert f"Undo exactly with `doctor-migration rollback {second.run_id}`, or in the Dagster " \
        f"UI by launching the job `rollback_doctor_migration` with `run_id: {second.run_id}`" \
        in second.report

    undo, messages = rollback_job_with_its_defaults()
    assert undo.success, undo.failures
    assert (f"no run_id given: rolling back run {second.run_id} (started "
            f"{started(small_dbs.target_url, second.run_id)}, the newest run that changed "
            "doctors and is not rolled back)") in messages
    assert state(small_dbs.target_url) == after_first
    undo, messages = rollback_job_with_its_defaults()
    assert undo.success, undo.failures
    assert (f"no run_id given: rolling back run {first.run_id} (started "
            f"{started(small_dbs.target_url, first.run_id)}, the newest run that changed "
            "doctors and is not rolled back; 1 newer run already rolled back)") in messages
    assert state(small_dbs.target_url) == before

    refused, _ = rollback_job_with_its_defaults()
    assert refused.exit_code == 1
    assert refused.failures == ["stopped at rollback_run: there is no run to roll back: no run "
                                "in the ledger changed doctors and is not rolled back"]
    assert state(small_dbs.target_url) == before


def test_the_trigger_probe_takes_a_row_the_run_inserted(small_dbs):
    """Rollback learns what the target's triggers rewrite on a row the run inserted (no other
    table may reference it), chosen by the ledger in SQL, not the first migrated row."""
    stale_target(small_dbs)
    first_by_id = "00000000-0000-0000-0000-000000000001"
    with small_dbs.target() as conn:  # a row the run updates, first in id order
        conn.execute("UPDATE public.doctors SET id = %s WHERE legacy_user_id = 3", (first_by_id,))
    run = migrate(40)
    assert run.success, run.failures
    with small_dbs.target() as conn:
        inserted = {r[0] for r in conn.execute(
            load_sql("select_run_doctor_ids"), {"run_id": run.run_id, "action": "insert"})}
        [(probed,)] = conn.execute(load_sql("select_probe_doctor"),
                                   {"run_id": run.run_id}).fetchall()
        [(fallback,)] = conn.execute(load_sql("select_probe_doctor"),
                                     {"run_id": None}).fetchall()
    assert len(inserted) == 38
    assert probed in inserted
    assert str(fallback) == first_by_id
