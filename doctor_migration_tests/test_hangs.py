"""No wait without an end: a lock or an old snapshot held by another session makes a command
stop after --lock-timeout with exit 75 (EX_TEMPFAIL: busy, try again), one sentence that names
the session in the way, and nothing changed."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from doctor_migration.demo.run import READER
from doctor_migration.migration import target
from doctor_migration.names import EXIT_BUSY
from doctor_migration_tests.helpers import migrate, snapshot
from doctor_migration_tests.servers import start_cli, tool_sessions

SINCE = r"in a transaction since 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC"
# A command given --lock-timeout 1s ends well within this, waits included.
BOUND = 60


@contextmanager
def held(url: str, statement: str, application: str,
         isolation: psycopg.IsolationLevel | None = None) -> Iterator[int]:
    """Another session runs `statement` and keeps its transaction open; yields its pid."""
    conn = psycopg.connect(url, application_name=application)
    try:
        if isolation is not None:
            conn.isolation_level = isolation
        conn.execute(statement)
        yield conn.info.backend_pid
    finally:
        conn.close()


def cli(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[int, str]:
    """The command as a separate process; its exit code and output, or the test fails when
    it is still waiting after BOUND seconds."""
    out = tmp_path / "out"
    proc = start_cli(list(args), out, env)
    try:
        code = proc.wait(BOUND)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        pytest.fail(f"doctor-migration {' '.join(args)} still waiting after {BOUND}s: "
                    + out.read_text())
    text = out.read_text()
    assert "Traceback" not in text, text
    return code, text


def line(pattern: str, text: str) -> None:
    assert re.search(f"^{pattern}$", text, re.MULTILINE), (pattern, text)


@pytest.mark.parametrize("command", ["run", "plan"])
def test_locked_profiles_stop_the_run_and_the_plan(small_dbs, tmp_path, command):
    before = snapshot(small_dbs.target_url)
    with held(small_dbs.target_url, "LOCK TABLE public.profiles IN ACCESS EXCLUSIVE MODE",
              "profile-sync") as pid:
        code, out = cli(tmp_path, command, "--expected-count", "40", "--lock-timeout", "1s")
    assert code == EXIT_BUSY, out
    line(r"error at profile_coverage: the target's public\.profiles stayed locked for 1s by "
         rf"pid {pid} \(user postgres, application profile-sync, {SINCE}\); nothing was "
         r"changed: let that session finish \(or end it\), then run again", out)
    assert snapshot(small_dbs.target_url) == before
    assert not tool_sessions(small_dbs.target_url)


def test_locked_auth_user_stops_the_source_read(small_dbs, tmp_path):
    """The source's role is a plain reader: it sees who holds the lock, not since when."""
    before = snapshot(small_dbs.target_url)
    with held(small_dbs.source_admin_url, "LOCK TABLE auth_user IN ACCESS EXCLUSIVE MODE",
              "legacy-batch") as pid:
        code, out = cli(tmp_path, "run", "--expected-count", "40", "--lock-timeout", "1s")
    assert code == EXIT_BUSY, out
    line(r"error at clean_doctors: the source's auth_user stayed locked for 1s by pid "
         rf"{pid} \(user postgres, application legacy-batch, since a time role {READER} "
         r"may not see\); nothing was changed: let that session finish \(or end it\), then "
         r"run again", out)
    assert snapshot(small_dbs.target_url) == before


def test_locked_ledger(small_dbs, tmp_path):
    run = migrate(40)
    before = snapshot(small_dbs.target_url)
    blocked = (r"the target's doctor_migration\.runs stayed locked for 1s by pid {pid} "
               rf"\(user postgres, application ledger-audit, {SINCE}\); nothing was changed: let "
               r"that session finish \(or end it\), then run again")
    with held(small_dbs.target_url, "LOCK TABLE doctor_migration.runs IN ACCESS EXCLUSIVE MODE",
              "ledger-audit") as pid:
        blocker = blocked.format(pid=pid)
        code, out = cli(tmp_path, "history", "--lock-timeout", "1s")
        assert code == EXIT_BUSY, out
        line(f"doctor-migration: error: {blocker}", out)

        code, out = cli(tmp_path, "rollback", "--last", "--lock-timeout", "1s")
        assert code == EXIT_BUSY, out
        line(f"doctor-migration: error: {blocker}", out)

        code, out = cli(tmp_path, "rollback", run.run_id, "--lock-timeout", "1s")
        assert code == EXIT_BUSY, out
        line(f"error at rollback_run: {blocker}", out)

        assert target.load_committed(small_dbs.target_url, run.run_id, "1s") is None
        code, out = cli(tmp_path, "run", "--expected-count", "40", "--lock-timeout", "1s")
        assert code == EXIT_BUSY, out
        line(f"error at loaded_doctors: {blocker}", out)
        assert re.search(
            r"did not complete; the target could not be asked whether its load committed "
            rf"\(doctor_migration\.runs stayed locked for 1s by pid {pid} \(user postgres, "
            rf"application ledger-audit, {SINCE}\)\): `doctor-migration history` lists run "
            r"\S+ if it did\.", out), out
    assert snapshot(small_dbs.target_url) == before
    assert not tool_sessions(small_dbs.target_url)


def test_create_indexes_behind_an_open_snapshot(small_dbs, tmp_path):
    before = snapshot(small_dbs.target_url)
    with held(small_dbs.target_url, "SELECT count(*) FROM public.profiles", "long-report",
              psycopg.IsolationLevel.REPEATABLE_READ) as pid:
        code, out = cli(tmp_path, "run", "--expected-count", "40", "--lock-timeout", "1s",
                        "--create-indexes")
    assert code == EXIT_BUSY, out
    line(r"error at loaded_doctors: CREATE INDEX CONCURRENTLY doctors_legacy_user_id_idx waited "
         rf"1s for pid {pid} \(user postgres, application long-report, {SINCE}\), which holds "
         r"an older snapshot; the invalid index it left was dropped and nothing was changed: "
         r"let that session finish \(or end it\), then run again", out)
    assert snapshot(small_dbs.target_url) == before
    with small_dbs.target() as conn:
        assert conn.execute("SELECT to_regclass('public.doctors_legacy_user_id_idx')"
                            ).fetchone()[0] is None
    again = migrate(40, create_indexes=True)
    assert again.success, again.failures
    assert "doctors_legacy_user_id_idx" in again.report


def test_migration_lock_held_is_busy_naming_the_holder(small_dbs, tmp_path):
    before = snapshot(small_dbs.target_url)
    with held(small_dbs.target_url, f"SELECT pg_advisory_xact_lock({target.MIGRATION_LOCK_KEY})",
              "other-migration") as pid:
        code, out = cli(tmp_path, "run", "--expected-count", "40")
    assert code == EXIT_BUSY, out
    line(r"error at loaded_doctors: another migration or rollback is running on the target: "
         rf"other-migration \(pid {pid}, user postgres, since 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d "
         r"UTC\); nothing was changed, wait for it to finish, then run again", out)
    assert snapshot(small_dbs.target_url) == before


def test_explain_waits_no_longer_than_the_lock_timeout(small_dbs, tmp_path):
    with held(small_dbs.target_url, "LOCK TABLE public.doctors IN ACCESS EXCLUSIVE MODE",
              "nightly-vacuum") as pid:
        code, out = cli(tmp_path, "explain", "1", "--lock-timeout", "1s")
    assert code == EXIT_BUSY, out
    line(r"doctor-migration: error: the target's public\.doctors stayed locked for 1s by pid "
         rf"{pid} \(user postgres, application nightly-vacuum, {SINCE}\); nothing was changed: "
         r"let that session finish \(or end it\), then run again", out)
