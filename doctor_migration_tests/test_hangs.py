"""No wait without an end: a lock, an old snapshot or a pooler's server connection held by
another session makes a command stop after --lock-timeout with exit 75 (EX_TEMPFAIL: busy, try
again), one sentence that names the session in the way, and nothing changed."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from doctor_migration.demo.run import READER
from doctor_migration.migration import db, target
from doctor_migration.migration.errors import MigrationError
from doctor_migration.names import EXIT_BUSY
from doctor_migration_tests.helpers import doctors, migrate, snapshot
from doctor_migration_tests.servers import LOOPBACK, pgbouncer, start_cli, tool_sessions

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

        assert target.ledger_says(small_dbs.target_url, run.run_id, "1s")[0] is None
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


def test_a_pooler_with_one_server_connection_ends_the_source_read(servers, small_dbs, tmp_path):
    """The source read takes two sessions at once (one exports its snapshot, the other imports
    it); a transaction pooler that gives the source one server connection, and lets a client
    wait for it forever, must not make the run wait forever."""
    source = servers[0]
    params = conninfo_to_dict(small_dbs.source_url)
    before = snapshot(small_dbs.target_url)

    def run(pool_size: int) -> tuple[int, str, float]:
        with pgbouncer({params["dbname"]: source.socket_dir}, ["postgres", params["user"]],
                       default_pool_size=pool_size, query_wait_timeout=0) as port:
            url = f"postgresql://{params['user']}@{LOOPBACK}:{port}/{params['dbname']}"
            started = time.monotonic()
            code, out = cli(tmp_path, "run", "--expected-count", "40", "--lock-timeout", "3s",
                            env={**os.environ, "SOURCE_DATABASE_URL": url})
            return code, out, time.monotonic() - started

    code, out, took = run(1)
    assert code == EXIT_BUSY, out
    line(r"error at clean_doctors: the source reads on two sessions sharing one snapshot, and "
         r"its pooler did not give the second session a server connection within 3s; nothing "
         r"was changed: use the session pooler \(Supabase: port 5432\) or a direct connection "
         r"for the source, or raise the pool size", out)
    assert took < 3 + 30, took
    assert snapshot(small_dbs.target_url) == before
    # The advice holds: two server connections are enough.
    code, out, _ = run(2)
    assert code == 0, out
    assert len(doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")) == 40


def test_a_pooler_with_no_free_server_connection_ends_the_run(servers, small_dbs, tmp_path):
    """Another client holds the pooler's one server connection: the run's first source session
    (its preflight) gives up after the lock timeout (the pooler itself would wait 20s)."""
    params = conninfo_to_dict(small_dbs.source_url)
    before = snapshot(small_dbs.target_url)
    with pgbouncer({params["dbname"]: servers[0].socket_dir}, ["postgres", params["user"]],
                   default_pool_size=1, query_wait_timeout=20) as port:
        url = f"postgresql://{params['user']}@{LOOPBACK}:{port}/{params['dbname']}"
        with psycopg.connect(url) as other:
            other.execute("SELECT 1")  # its transaction keeps the server connection
            started = time.monotonic()
            code, out = cli(tmp_path, "run", "--expected-count", "40", "--lock-timeout", "2s",
                            env={**os.environ, "SOURCE_DATABASE_URL": url})
            took = time.monotonic() - started
    assert code == EXIT_BUSY, out
    line(r"error at clean_doctors: the source did not give the tool a session within 2s \(a "
         r"pooler with every server connection in use keeps it waiting\); nothing was changed, "
         r"run again", out)
    assert took < 2 + 18, took
    assert snapshot(small_dbs.target_url) == before


def test_connecting_waits_no_longer_than_the_lock_timeout():
    """A server that takes the connection and never answers: given up after the lock timeout
    (libpq's minimum is 2s), not the default 10s."""
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen()
        where = f"reader@{LOOPBACK}:{silent.getsockname()[1]}/legacy"
        started = time.monotonic()
        with pytest.raises(MigrationError) as raised, \
                db.connect(f"postgresql://{where}", "source", "2s"):
            pass
        took = time.monotonic() - started
    assert str(raised.value) == (f"cannot connect to the source database {where}: "
                                 "connection timeout expired")
    assert 2 <= took < 8, took


@pytest.mark.parametrize(("duration", "seconds"), [
    ("3s", 3), ("500ms", 0.5), ("2min", 120), (" 1.5 h ", 5400), ("30", 0.03), ("0", None),
    ("soon", None)])
def test_lock_timeout_in_seconds_as_postgresql_reads_it(duration, seconds):
    assert db.seconds(duration) == (None if seconds is None else pytest.approx(seconds))
