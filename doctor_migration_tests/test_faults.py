"""Nothing lost under faults: killed, blocked, raced or cut off, a run leaves the target's
doctors and ledger byte for byte as they were, leaves no session behind, says in one sentence
what happened, and the next run succeeds."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from doctor_migration.migration import db, target
from doctor_migration.migration.errors import MigrationError
from doctor_migration.names import EXIT_BAD_INPUT, EXIT_BUSY
from doctor_migration_tests.helpers import migrate, snapshot
from doctor_migration_tests.servers import start_cli, tool_sessions, wait_for

HOLD_KEY = 4242  # advisory lock the test's trigger waits on


class Hold:
    """Inserts into public.doctors wait, inside the load, until release()."""

    def __init__(self, url: str, key: int = HOLD_KEY) -> None:
        self.holder = psycopg.connect(url, autocommit=True)
        self.holder.execute("SELECT pg_advisory_lock(%s)", (key,))

    def release(self) -> None:
        if not self.holder.closed:
            self.holder.close()


@pytest.fixture
def held_inserts(small_dbs) -> Iterator[Hold]:
    """A BEFORE INSERT trigger that blocks the load's INSERT until the test releases it."""
    with small_dbs.target() as conn:
        conn.execute(
            "CREATE FUNCTION public.wait_for_test() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_advisory_xact_lock_shared({HOLD_KEY}); RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER wait_for_test BEFORE INSERT ON public.doctors "
                     "FOR EACH ROW EXECUTE FUNCTION public.wait_for_test()")
    hold = Hold(small_dbs.target_url)
    try:
        yield hold
    finally:
        hold.release()


def load_session(url: str, wait_event: str, proc: subprocess.Popen | None = None,
                 out: Path | None = None) -> tuple:
    """The running load's session once it waits on `wait_event` ("relation": the lock on
    doctors; "advisory": the test's trigger, i.e. inside the load's INSERT)."""
    def probe():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the run ended before its load ({proc.returncode}): {out.read_text()}")
        return next((s for s in tool_sessions(url, "doctor-migration run %")
                     if s[4] == wait_event), None)
    return wait_for(probe, f"the load to wait on {wait_event}")


def no_tool_session_left(url: str) -> None:
    wait_for(lambda: not tool_sessions(url), "the tool's sessions to end", timeout=15)


@contextmanager
def doctors_locked(url: str, application: str = "nightly-report") -> Iterator[int]:
    """Another session holds a lock on public.doctors that keeps writers out (readers not)."""
    blocker = psycopg.connect(url, application_name=application)
    try:
        blocker.execute("LOCK TABLE public.doctors IN EXCLUSIVE MODE")
        yield blocker.info.backend_pid
    finally:
        blocker.close()


def killed(proc, tmp_path) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL, (tmp_path / "out").read_text()


def test_kill_while_waiting_for_the_lock_on_doctors(small_dbs, tmp_path):
    before = snapshot(small_dbs.target_url)
    with doctors_locked(small_dbs.target_url):
        proc = start_cli(["run", "--expected-count", "40"], tmp_path / "out")
        try:
            load_session(small_dbs.target_url, "relation", proc, tmp_path / "out")
        finally:
            killed(proc, tmp_path)
        # The server ends the dead client's session on its own, lock still held
        # (client_connection_check_interval), so the lock on doctors is not left queued.
        no_tool_session_left(small_dbs.target_url)
    assert snapshot(small_dbs.target_url) == before
    assert migrate(40).success


def test_kill_inside_the_load(small_dbs, held_inserts, tmp_path):
    before = snapshot(small_dbs.target_url)
    proc = start_cli(["run", "--expected-count", "40"], tmp_path / "out")
    try:
        load_session(small_dbs.target_url, "advisory", proc, tmp_path / "out")
    finally:
        killed(proc, tmp_path)
    no_tool_session_left(small_dbs.target_url)  # while the INSERT is still held
    held_inserts.release()
    assert snapshot(small_dbs.target_url) == before
    assert migrate(40).success


def test_lock_timeout_names_the_blocker(small_dbs):
    before = snapshot(small_dbs.target_url)
    with doctors_locked(small_dbs.target_url) as pid:
        outcome = migrate(40, lock_timeout="1s")
    assert not outcome.success
    assert outcome.exit_code == EXIT_BUSY, outcome.failures
    text = "\n".join(outcome.failures)
    for needle in ("public.doctors stayed locked for 1s", f"pid {pid} (user postgres",
                   "application nightly-report", "in a transaction since 20",
                   "nothing was changed"):
        assert needle in text, (needle, text)
    assert snapshot(small_dbs.target_url) == before
    assert not tool_sessions(small_dbs.target_url)


def test_second_run_refuses_at_once_naming_the_first(small_dbs, held_inserts, tmp_path):
    first = start_cli(["run", "--expected-count", "40"], tmp_path / "out")
    try:
        _, application, *_ = load_session(small_dbs.target_url, "advisory", first,
                                          tmp_path / "out")
        first_id = application.removeprefix("doctor-migration run ")
        assert first_id in (tmp_path / "out").read_text()  # "Dagster run <id>" is printed first
        before = snapshot(small_dbs.target_url)
        second = migrate(40, lock_timeout="30s")
        assert not second.success
        assert second.exit_code == EXIT_BUSY, second.failures
        text = "\n".join(second.failures)
        assert f"another migration or rollback is running on the target: doctor-migration run " \
               f"{first_id} (pid" in text, text
        assert snapshot(small_dbs.target_url) == before
        held_inserts.release()
        assert first.wait(60) == 0, (tmp_path / "out").read_text()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert f"Run {first_id} succeeded." in (tmp_path / "out").read_text()


def test_connection_lost_mid_load(small_dbs, held_inserts):
    before = snapshot(small_dbs.target_url)
    terminated = []

    def cut_the_connection() -> None:
        try:
            pid = load_session(small_dbs.target_url, "advisory")[0]
            with small_dbs.target() as admin:
                terminated.append(admin.execute("SELECT pg_terminate_backend(%s)",
                                                (pid,)).fetchone()[0])
        finally:
            held_inserts.release()

    cutter = threading.Thread(target=cut_the_connection)
    cutter.start()
    try:
        outcome = migrate(40)
    finally:
        cutter.join(60)
    assert terminated == [True]
    assert not outcome.success
    assert outcome.exit_code == EXIT_BAD_INPUT, outcome.failures
    text = "\n".join(outcome.failures)
    assert ("error at loaded_doctors: the connection to the target database was lost "
            "(terminating connection due to administrator command) during the load of run "
            f"{outcome.run_id}; nothing was committed, the server rolled the transaction back; "
            "run again") in text, text
    assert snapshot(small_dbs.target_url) == before
    assert outcome.written == "nothing was written to the target."
    no_tool_session_left(small_dbs.target_url)
    assert migrate(40).success


def test_what_was_written_asks_the_ledger(small_dbs):
    assert target.ledger_says(small_dbs.target_url, "never-ran")[0] is False  # no ledger yet
    run = migrate(40)
    assert target.ledger_says(small_dbs.target_url, run.run_id)[0] is True
    assert target.written(run.run_id, *target.ledger_says(small_dbs.target_url, run.run_id)) == (
        "its load did commit: the doctors are migrated and recorded in the ledger "
        f"(`doctor-migration history`); undo it with `doctor-migration rollback {run.run_id}`.")
    assert target.ledger_says(small_dbs.target_url, "never-ran")[0] is False
    # Asked again for the lock timeout: the target may be restarting.
    assert target.written("r", *target.ledger_says("postgresql://postgres@127.0.0.2:1/x", "r",
                                                   lock_timeout="1s")) == (
        "the target could not be asked whether its load committed: `doctor-migration history` "
        "lists run r if it did.")


def test_connection_lost_just_after_commit_says_it_committed(small_dbs):
    with pytest.raises(MigrationError) as error, \
            db.connect(small_dbs.target_url, "target") as conn:
        with conn.transaction():
            target.begin(conn, "run", "run-1", target.Timeouts())
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        with small_dbs.target() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        conn.execute("SELECT 1")
    assert str(error.value).endswith(
        "just after the load of run run-1 committed: the migration is applied and recorded in "
        "the ledger (`doctor-migration history` lists it): do not run it again")


def test_orphaned_transaction_is_ended_and_reported_rolled_back(small_dbs):
    """The server has not noticed the lost client yet: the tool ends its own old session."""
    orphan = psycopg.connect(small_dbs.target_url)
    try:
        target.begin(orphan, "rollback", "run-2", target.Timeouts())
        xid, pid = orphan.execute("SELECT pg_current_xact_id()::text, pg_backend_pid()").fetchone()
        transaction = db.Transaction(xid=xid, pid=pid, what="rollback", run_id="run-2",
                                     application_name="doctor-migration rollback run-2")
        error = db.connection_lost(small_dbs.target_url, small_dbs.target_url, "target",
                                   psycopg.OperationalError("network is unreachable"),
                                   transaction)
        assert str(error) == (
            "the connection to the target database was lost (network is unreachable) during "
            "the rollback of run run-2; nothing was committed, the server rolled the "
            "transaction back; run again")
        assert not tool_sessions(small_dbs.target_url)
    finally:
        orphan.close()
