"""Bad input ends in one line that names the problem, exit code 2, no traceback and no write;
a password never shows in the output, the logs or the Dagster run's records."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, serialize_value
from psycopg.conninfo import conninfo_to_dict

from doctor_migration import cli
from doctor_migration.demo.run import READER
from doctor_migration.demo.world import generate_world
from doctor_migration_tests.helpers import make_databases, snapshot
from doctor_migration_tests.servers import LOOPBACK, PasswordServer, free_port

BAD_INPUT = 2


def run_cli(capfd, *args: str) -> tuple[int, str]:
    code = cli.main(list(args))
    out, err = capfd.readouterr()
    return code, out + err


def refused(capfd, needle: str, *args: str) -> str:
    """The CLI exits 2 with `needle` on one of its lines and no traceback."""
    code, text = run_cli(capfd, *(args or ("run", "--expected-count", "40")))
    assert code == BAD_INPUT, text
    assert "Traceback" not in text, text
    assert any(needle in line for line in text.splitlines()), (needle, text)
    return text


def dbname(url: str) -> str:
    return conninfo_to_dict(url)["dbname"]


@pytest.mark.parametrize("variable, url, needle", [
    ("SUPABASE_DATABASE_URL", lambda dbs, port: "postgresql://postgres@127.0.0.2:1/x",
     lambda dbs, port: "error at profile_coverage: cannot connect to the target database "
     'postgres@127.0.0.2:1/x: connection failed: connection to server at "127.0.0.2", port 1 '
     "failed: Connection refused"),
    ("SUPABASE_DATABASE_URL", lambda dbs, port: f"postgresql://postgres@{LOOPBACK}:{port}/x",
     lambda dbs, port: f"cannot connect to the target database postgres@{LOOPBACK}:{port}/x"),
    ("SUPABASE_DATABASE_URL",
     lambda dbs, port: dbs.target_url.replace(f"/{dbname(dbs.target_url)}?", "/no_such_db?"),
     lambda dbs, port: 'FATAL:  database "no_such_db" does not exist'),
    ("SOURCE_DATABASE_URL",
     lambda dbs, port: dbs.source_url.replace(f"/{dbname(dbs.source_url)}?", "/no_such_db?"),
     lambda dbs, port: f"cannot connect to the source database {READER}@"),
    ("SOURCE_DATABASE_URL", lambda dbs, port: f"postgresql://someone:pw@[{LOOPBACK}",
     lambda dbs, port: "the source database URL is not valid"),
], ids=["wrong host", "wrong port", "wrong target database", "wrong source database",
        "malformed URL"])
def test_unreachable_database(small_dbs, capfd, monkeypatch, variable, url, needle):
    port = free_port()
    monkeypatch.setenv(variable, url(small_dbs, port))
    before = snapshot(small_dbs.target_url)
    refused(capfd, needle(small_dbs, port))
    assert snapshot(small_dbs.target_url) == before


def test_source_without_a_table_of_the_plan(small_dbs, capfd):
    with small_dbs.source() as conn:
        conn.execute("DROP TABLE dispatch_patient")
    before = snapshot(small_dbs.target_url)
    refused(capfd, "dispatch_patient")
    assert snapshot(small_dbs.target_url) == before


def test_target_without_profiles(small_dbs, capfd):
    with small_dbs.target() as conn:
        conn.execute("DROP TABLE public.profiles CASCADE")
    before = snapshot(small_dbs.target_url)
    refused(capfd, "public.profiles")
    assert snapshot(small_dbs.target_url) == before


@pytest.mark.parametrize("args, needle", [
    (["run", "--expected-count", "0"], "argument --expected-count: 0 is not a positive number"),
    (["run", "--expected-count", "abc"], "argument --expected-count: 'abc' is not a whole number"),
    (["plan", "--expected-count", "-3"], "argument --expected-count: -3 is not a positive number"),
])
def test_bad_arguments(capfd, args, needle):
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    out, err = capfd.readouterr()
    assert exit_.value.code == BAD_INPUT
    assert err.strip() == f"doctor-migration: error: {needle}"
    assert "Traceback" not in out + err


def test_bad_lock_timeout(small_dbs, capfd):
    before = snapshot(small_dbs.target_url)
    refused(capfd, 'invalid value for parameter "lock_timeout": "soon": give durations as '
                   "PostgreSQL writes them, e.g. 30s, 2min, 500ms; nothing was changed",
            "run", "--expected-count", "40", "--lock-timeout", "soon")
    assert snapshot(small_dbs.target_url) == before


@pytest.mark.parametrize("missing", ["SOURCE_DATABASE_URL", "SUPABASE_DATABASE_URL"])
def test_missing_environment(capfd, monkeypatch, missing):
    monkeypatch.setenv("SOURCE_DATABASE_URL", "postgresql://x@127.0.0.2:1/x")
    monkeypatch.setenv("SUPABASE_DATABASE_URL", "postgresql://x@127.0.0.2:1/x")
    monkeypatch.delenv(missing)
    code, text = run_cli(capfd, "run", "--expected-count", "40")
    assert code == BAD_INPUT
    assert text.strip().startswith(f"doctor-migration: error: set {missing}")
    assert "Traceback" not in text


# Passwords: a server that asks for them, over TCP on the loopback interface.

@pytest.fixture(scope="module")
def password_server():
    with PasswordServer() as server:
        yield server


def everything_recorded(home: Path) -> str:
    """Every event of every Dagster run in `home` (serialized), its runs, and every file."""
    instance = DagsterInstance.get()
    parts = []
    for run in instance.get_runs():
        parts.append(serialize_value(run))
        parts += [serialize_value(entry) for entry in instance.all_logs(run.run_id)]
    for path in home.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    assert len(parts) > 1
    return "\n".join(parts)


def test_password_never_shown_or_recorded(password_server, dagster_home, capfd, monkeypatch):
    password = f"Pw-{uuid.uuid4().hex}"
    user = f"mig_{uuid.uuid4().hex[:6]}"
    password_server.create_role(user, password)
    dbs = make_databases((password_server, password_server), generate_world(40, seed=11))
    with dbs.target() as conn:
        conn.execute("DROP TABLE public.profiles CASCADE")  # a step that fails
    source_db, target_db = dbname(dbs.source_url), dbname(dbs.target_url)
    wrong = f"Wrong-{uuid.uuid4().hex}"
    texts = []
    for source_url, target_url, needle in [
        (password_server.tcp_url(source_db, user, password),
         password_server.tcp_url(target_db, user, password), "public.profiles"),
        (password_server.tcp_url(source_db, user, password),
         password_server.tcp_url(target_db, user, wrong),
         f'password authentication failed for user "{user}"'),
        (password_server.tcp_url(source_db, user, password),
         f"postgresql://{user}:{password}@[{LOOPBACK}", "the target database URL is not valid"),
    ]:
        monkeypatch.setenv("SOURCE_DATABASE_URL", source_url)
        monkeypatch.setenv("SUPABASE_DATABASE_URL", target_url)
        texts.append(refused(capfd, needle))
        for command in (["history"], ["rollback", "--last"]):  # the others that take the URL
            texts.append(run_cli(capfd, *command)[1])
    shown = "\n".join(texts)
    recorded = everything_recorded(dagster_home)
    for secret in (password, wrong):
        assert secret not in shown
        assert secret not in recorded


def test_wrong_password_as_a_process(password_server, tmp_path, monkeypatch):
    """The real command: its exit status, everything it writes to stdout and stderr."""
    user, password = f"mig_{uuid.uuid4().hex[:6]}", f"Pw-{uuid.uuid4().hex}"
    password_server.create_role(user, password)
    wrong = f"Wrong-{uuid.uuid4().hex}"
    monkeypatch.setenv("SOURCE_DATABASE_URL", password_server.tcp_url("postgres", user, wrong))
    monkeypatch.setenv("SUPABASE_DATABASE_URL", password_server.tcp_url("postgres", user, wrong))
    done = subprocess.run([sys.executable, "-m", "doctor_migration.cli", "run",
                           "--expected-count", "40"], check=False, capture_output=True,
                          text=True, timeout=120)
    text = done.stdout + done.stderr
    assert done.returncode == BAD_INPUT, text
    assert "Traceback" not in text
    assert wrong not in text and password not in text
    assert (f"error at profile_coverage: cannot connect to the target database "
            f"{user}@{LOOPBACK}:{password_server.port}/postgres: connection failed: connection "
            f'to server at "{LOOPBACK}", port {password_server.port} failed: FATAL:  password '
            f'authentication failed for user "{user}"') in text.splitlines(), text
