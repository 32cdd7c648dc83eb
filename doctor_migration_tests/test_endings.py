"""True endings after a commit: once the load of public.doctors has committed, whatever fails
after it (step 4's measurement waiting out its lock timeout, crashing or losing its connection,
Ctrl-C, the target lost right after COMMIT) ends the run with EXIT_COMMITTED and a last line
that says the migration WAS committed and names its rollback; another command replacing the
stage after the COMMIT no longer matters (no check reads the stage after it). Before the
commit the endings are as they were (1, 2, 75, 130: nothing was changed)."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from doctor_migration import cli
from doctor_migration.migration import stage, target
from doctor_migration.names import EXIT_BAD_INPUT, EXIT_COMMITTED
from doctor_migration.runner import INTERRUPTED_AFTER_COMMIT, committed_line
from doctor_migration_tests.helpers import doctors, snapshot
from doctor_migration_tests.servers import (
    LOOPBACK,
    CutAtCommit,
    start_cli,
    tool_sessions,
    wait_for,
)
from doctor_migration_tests.test_faults import Hold, load_session

HOLD_KEY = 4444  # advisory lock the test's trigger waits on
RUN = ["run", "--expected-count", "40"]
SINCE = r"in a transaction since 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC"


@pytest.fixture
def paused_load(small_dbs) -> Iterator[Hold]:
    """The load's INSERT waits, inside its transaction and with no lock timeout, until the test
    releases it."""
    with small_dbs.target() as conn:
        conn.execute(
            "CREATE FUNCTION public.pause_the_load() RETURNS trigger LANGUAGE plpgsql "
            f"SET lock_timeout = 0 AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared({HOLD_KEY}); "
            "RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER pause_the_load BEFORE INSERT ON public.doctors "
                     "FOR EACH ROW EXECUTE FUNCTION public.pause_the_load()")
    hold = Hold(small_dbs.target_url, HOLD_KEY)
    try:
        yield hold
    finally:
        hold.release()


def _waits_for_a_lock(dbs, pid: int) -> bool:
    with dbs.target() as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s "
                            "AND NOT granted)", (pid,)).fetchone()[0]


@contextmanager
def locked_after_the_commit(dbs, hold: Hold, table: str, proc=None,
                            out=None) -> Iterator[psycopg.Connection]:
    """Once the load waits in its INSERT, another session (application stage-audit) asks for
    an ACCESS EXCLUSIVE lock on `table`, which the load holds a lock on, and the load goes on:
    the lock is granted the moment the load commits, before the checks after it start, and
    they wait for it. Yields that session, holding the lock, until the block ends."""
    load_session(dbs.target_url, "advisory", proc, out)
    conn = psycopg.connect(dbs.target_url, application_name="stage-audit")
    try:
        locker = threading.Thread(target=conn.execute, args=(
            sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                sql.Identifier(*table.split("."))),))
        locker.start()
        wait_for(lambda: _waits_for_a_lock(dbs, conn.info.backend_pid),
                 f"the lock on {table} to queue behind the load")
        hold.release()
        locker.join(60)
        assert not locker.is_alive(), "the load did not commit"
        yield conn
    finally:
        conn.close()


def check_waiting(dbs) -> int:
    """The pid of the tool's session that waits for a lock (a check, once the load committed)."""
    return wait_for(lambda: next((s[0] for s in tool_sessions(dbs.target_url)
                                  if s[3] == "Lock"), None), "a check to wait for its lock")


def run_in_process(dbs, hold: Hold, capsys, lock_timeout: str, table: str,
                   meanwhile: Callable[[psycopg.Connection], None] | None = None) -> tuple:
    """`doctor-migration run` in this process while its checks wait for `table`, locked as
    the load commits; `meanwhile(session)` runs in the locking session. Its exit code, the
    run id and its lines."""
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(cli.main, [*RUN, "--lock-timeout", lock_timeout])
        try:
            with locked_after_the_commit(dbs, hold, table) as session:
                if meanwhile:
                    meanwhile(session)
                code = run.result(120)
        finally:
            hold.release()
    return code, *run_lines(capsys.readouterr().out)


def run_lines(out: str) -> tuple[str, list[str]]:
    assert "Traceback" not in out, out
    return re.match(r"Dagster run (\S+) ", out).group(1), out.splitlines()


def assert_committed(dbs, run_id: str, lines: list[str], *failures: str) -> None:
    """The ending of a run whose load committed: the state line, the failures (patterns),
    then the committed line last; the doctors migrated and the run in the ledger."""
    start = lines.index(f"The run {run_id} did not complete; its load did commit: the doctors "
                        "are migrated and recorded in the ledger (`doctor-migration history`); "
                        f"undo it with `doctor-migration rollback {run_id}`.")
    assert len(lines[start + 1:]) == len(failures) + 1, lines[start:]
    for line, pattern in zip(lines[start + 1:], failures):
        assert re.fullmatch(pattern, line), (pattern, line)
    assert lines[-1] == committed_line(run_id) == (
        f"the migration WAS committed before that: run {run_id}'s doctors are migrated; undo it "
        f"with `doctor-migration rollback {run_id}`")
    assert len(doctors(dbs.target_url, "legacy_user_id IS NOT NULL")) == 40
    assert target.ledger_says(dbs.target_url, run_id)[0] is True


# What the load step does after its COMMIT: steps 4.1 and 4.2, which read public.doctors.
MEASURED = "public.doctors"


def test_step_4_waiting_out_its_lock_timeout_after_the_commit(small_dbs, paused_load, capsys):
    code, run_id, lines = run_in_process(small_dbs, paused_load, capsys, "2s", MEASURED)
    assert code == EXIT_COMMITTED, lines
    assert_committed(
        small_dbs, run_id, lines,
        r"error at loaded_doctors: the target's public\.doctors stayed locked for 2s by pid "
        rf"\d+ \(user postgres, application stage-audit, {SINCE}\); the load had committed, "
        r"steps 4\.1 and 4\.2 were not measured \(`doctor-migration check` measures them\): "
        r"let that session finish \(or end it\), then run again")


def test_step_4_crashing_after_the_commit(small_dbs, paused_load, capsys):
    """An error no Failure describes (here the table step 4 reads renamed under it)."""
    def rename(session: psycopg.Connection) -> None:
        session.execute("ALTER TABLE public.doctors RENAME TO doctors_gone")
        session.commit()

    code, run_id, lines = run_in_process(small_dbs, paused_load, capsys, "30s", MEASURED, rename)
    assert code == EXIT_COMMITTED, lines
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors_gone RENAME TO doctors")
    assert_committed(small_dbs, run_id, lines,
                     r'error at loaded_doctors: relation "public\.doctors" does not exist.*')


def test_step_4_losing_its_connection_after_the_commit(small_dbs, paused_load, capsys):
    def terminate(session: psycopg.Connection) -> None:
        with small_dbs.target() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (check_waiting(small_dbs),))
        session.commit()

    code, run_id, lines = run_in_process(small_dbs, paused_load, capsys, "30s", MEASURED,
                                         terminate)
    assert code == EXIT_COMMITTED, lines
    assert_committed(
        small_dbs, run_id, lines,
        r"error at loaded_doctors: the connection to the target database was lost "
        r"\(terminating connection due to administrator command\) while no write was in "
        r"progress; run again")


def test_another_command_replacing_the_stage_after_the_commit_does_not_matter(
        small_dbs, paused_load, capsys):
    """`dagster job execute -j migrate_doctors` at the same time: its first step replaces the
    run's stage right after the load's commit (here in the session that holds the stage's
    registry). The checks were evaluated before the COMMIT: the run completes."""
    def replace(session: psycopg.Connection) -> None:
        stage.start(session, "the-other-run", "run", target.Timeouts())
        session.commit()

    code, run_id, lines = run_in_process(small_dbs, paused_load, capsys, "30s",
                                         "doctor_migration.stages", replace)
    assert code == 0, lines
    assert lines[-1] == f"Run {run_id} succeeded."
    assert len(doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")) == 40


def test_ctrl_c_after_the_commit(small_dbs, paused_load, tmp_path):
    out = tmp_path / "out"
    proc = start_cli(RUN, out)
    try:
        with locked_after_the_commit(small_dbs, paused_load, MEASURED, proc, out):
            check_waiting(small_dbs)
            proc.send_signal(signal.SIGINT)
            code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert code == EXIT_COMMITTED, out.read_text()
    run_id, lines = run_lines(out.read_text())
    assert_committed(small_dbs, run_id, lines, re.escape(INTERRUPTED_AFTER_COMMIT))
    assert "rolled back" not in out.read_text()


@pytest.fixture
def cut_target(servers, small_dbs, monkeypatch) -> Callable[..., CutAtCommit]:
    """The tool reaches the target through a CutAtCommit on the load's COMMIT."""
    proxies = []

    def cut(down: float, before: bool = False) -> CutAtCommit:
        proxy = CutAtCommit(servers[1].socket_dir, b"pg_try_advisory_xact_lock", down, before)
        proxies.append(proxy)
        dbname = conninfo_to_dict(small_dbs.target_url)["dbname"]
        monkeypatch.setenv("SUPABASE_DATABASE_URL", f"postgresql://postgres@{LOOPBACK}:"
                                                    f"{proxy.port}/{dbname}?sslmode=disable")
        return proxy

    yield cut
    for proxy in proxies:
        proxy.close()


def test_target_lost_right_after_commit(small_dbs, cut_target, capsys):
    """The server commits, the tool never hears it and cannot reconnect for 2s: it asks again
    until it can (here within the 10s lock timeout), and the ledger says it committed."""
    proxy = cut_target(down=2)
    code = cli.main([*RUN, "--lock-timeout", "10s"])
    run_id, lines = run_lines(capsys.readouterr().out)
    assert proxy.cut.is_set()
    assert code == EXIT_COMMITTED, lines
    assert_committed(
        small_dbs, run_id, lines,
        r"error at loaded_doctors: the connection to the target database was lost \(.+\) just "
        rf"after the load of run {run_id} committed: the migration is applied and recorded in "
        r"the ledger \(`doctor-migration history` lists it\): do not run it again")


def test_target_gone_for_longer_than_the_lock_timeout(small_dbs, cut_target, capsys):
    """Asked again for the lock timeout only, then the tool says it cannot tell."""
    cut_target(down=600)
    code = cli.main([*RUN, "--lock-timeout", "1s"])
    run_id, lines = run_lines(capsys.readouterr().out)
    assert code == EXIT_BAD_INPUT, lines
    assert lines[-2] == (
        f"The run {run_id} did not complete; the target could not be asked whether its load "
        f"committed: `doctor-migration history` lists run {run_id} if it did.")
    assert re.fullmatch(
        r"error at loaded_doctors: the connection to the target database was lost \(.+\) during "
        rf"the load of run {run_id}, and the server could not be asked whether it committed "
        rf"\(asked again for 1s\): if `doctor-migration history` lists run {run_id} as applied it "
        r"did, otherwise nothing was written; then run again if needed", lines[-1]), lines[-1]
    assert target.ledger_says(small_dbs.target_url, run_id)[0] is True


def test_target_lost_at_commit_before_it_committed(small_dbs, cut_target, capsys):
    """The COMMIT never reaches the server: nothing changed, exit 2 as before."""
    before = snapshot(small_dbs.target_url)
    proxy = cut_target(down=2, before=True)
    code = cli.main([*RUN, "--lock-timeout", "10s"])
    run_id, lines = run_lines(capsys.readouterr().out)
    assert proxy.cut.is_set()
    assert code == EXIT_BAD_INPUT, lines
    assert lines[-2] == f"The run {run_id} did not complete; nothing was written to the target."
    assert re.fullmatch(
        r"error at loaded_doctors: the connection to the target database was lost \(.+\) during "
        rf"the load of run {run_id}; nothing was committed, the server rolled the transaction "
        r"back; run again", lines[-1]), lines[-1]
    assert snapshot(small_dbs.target_url) == before
