"""The real command never shows a traceback: bad arguments, a DAGSTER_HOME it cannot use, odd
sources and odd OS users end in one sentence and the right exit code, with nothing written."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from doctor_migration.demo.run import READER, TARGET_ROLE, grant_select_only
from doctor_migration.demo.world import generate_world, write_legacy, write_target
from doctor_migration_tests.helpers import (
    Databases,
    doctors,
    make_databases,
    snapshot,
    years_since,
)
from doctor_migration_tests.servers import (
    SERVER_USER,
    PasswordServer,
    start_cli,
    tool_sessions,
    wait_for,
)

BAD_INPUT = 2
REPOSITORY = Path(__file__).resolve().parent.parent


def as_uid(uid: int | None) -> list[str]:
    """The command prefix that runs a program as `uid` (setpriv: subprocess's own user= cannot
    execute this interpreter here); nothing when uid is None."""
    if uid is None:
        return []
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the tool as another uid")
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]


def cli(*args: str, user: int | None = None, **env: str) -> tuple[int, str]:
    """`python -m doctor_migration.cli ARGS` as a process (as uid `user` if given): its exit
    status and everything it printed."""
    done = subprocess.run([*as_uid(user), sys.executable, "-m", "doctor_migration.cli", *args],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=180, check=False, cwd=tempfile.gettempdir())
    return done.returncode, done.stdout + done.stderr


def one_error(text: str, sentence: str) -> None:
    assert "Traceback" not in text, text
    assert text == f"doctor-migration: error: {sentence}\n", text


@pytest.mark.parametrize("args, sentence", [
    (["history", "--limit", "99999999999999999999"],
     "argument --limit: 99999999999999999999 is too large (at most 9223372036854775807)"),
    (["explain", "3000000000"],
     "argument user_id: 3000000000 is outside the range of auth_user.id, an integer "
     "(-2147483648 to 2147483647)"),
])
def test_numbers_too_large(small_dbs, args, sentence):
    before = snapshot(small_dbs.target_url)
    code, text = cli(*args)
    assert code == BAD_INPUT
    one_error(text, sentence)
    assert snapshot(small_dbs.target_url) == before


@pytest.fixture
def open_dir():
    """A fresh directory any user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="doctor-migration-home-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _file(home: Path) -> tuple[Path, dict, str]:
    home.write_text("not a directory\n")
    return home, {}, f"DAGSTER_HOME {home} is not a directory"


def _unwritable(home: Path) -> tuple[Path, dict, str]:
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    home.chmod(0o555)
    # Root writes anywhere: then the tool runs as the (unprivileged) server user.
    user = pwd.getpwnam(SERVER_USER).pw_uid if os.geteuid() == 0 else None
    return home, {"user": user}, f"cannot use DAGSTER_HOME {home}: Permission denied"


def _postgres_storage(home: Path) -> tuple[Path, dict, str]:
    home.mkdir()
    shutil.copy(REPOSITORY / "dagster.yaml", home / "dagster.yaml")
    return home, {}, (f"cannot open the Dagster instance in DAGSTER_HOME {home}: its dagster.yaml "
                      "reads the environment variable DAGSTER_POSTGRES_URL, which is not set")


def _invalid_yaml(home: Path) -> tuple[Path, dict, str]:
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: [\n  enabled: false\n")
    return home, {}, (f"{home / 'dagster.yaml'} is not valid YAML (line 3): "
                      "expected ',' or ']', but got '<stream end>'")


@pytest.mark.parametrize("make", [_file, _unwritable, _postgres_storage, _invalid_yaml],
                         ids=["a file", "unwritable", "postgres storage without its URL",
                              "invalid YAML"])
@pytest.mark.parametrize("command", [["run", "--expected-count", "40"], ["report"]])
def test_dagster_home_it_cannot_use(small_dbs, open_dir, monkeypatch, make, command):
    monkeypatch.delenv("DAGSTER_POSTGRES_URL", raising=False)
    home, kw, sentence = make(open_dir / "home")
    files_before = sorted(home.rglob("*")) if home.is_dir() else []
    before = snapshot(small_dbs.target_url)
    code, text = cli(*command, DAGSTER_HOME=str(home), **kw)
    assert code == BAD_INPUT
    one_error(text, sentence)
    assert snapshot(small_dbs.target_url) == before
    assert (sorted(home.rglob("*")) if home.is_dir() else []) == files_before


def _source_database(servers, name: str, create: str) -> Databases:
    """A world whose legacy database is created by `create` (a CREATE DATABASE statement)."""
    source, target = servers
    with psycopg.connect(source.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL(create).format(sql.Identifier(name)))
    world = generate_world(40, seed=11)
    source_admin_url = source.url(name)
    with psycopg.connect(source_admin_url) as conn:
        write_legacy(conn, world)
    grant_select_only(source_admin_url)
    target_admin_url = target.create_database(f"target_of_{name}", owner=TARGET_ROLE)
    with psycopg.connect(target_admin_url) as conn:
        target_world = write_target(conn, world)
    return Databases(source.url(name, READER), target.url(f"target_of_{name}", TARGET_ROLE),
                     world, target_world, source_admin_url, target_admin_url)


def test_sql_ascii_source(servers):
    """psycopg hands SQL_ASCII text over as bytes; the tool reads it as UTF-8."""
    dbs = _source_database(servers, "legacy_sql_ascii", "CREATE DATABASE {} ENCODING 'SQL_ASCII' "
                           "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    user = dbs.world.clean_ids[0]
    with dbs.source(client_encoding="UTF8") as conn:  # UTF-8 bytes, stored as they come
        conn.execute("UPDATE auth_user SET first_name = 'Zoë' WHERE id = %s", (user,))
    with dbs.target() as conn:  # the profile migration brought the same name over
        conn.execute("UPDATE public.profiles SET first_name = 'Zoë' WHERE legacy_user_id = %s",
                     (user,))
    env = {"SOURCE_DATABASE_URL": dbs.source_url, "SUPABASE_DATABASE_URL": dbs.target_url}
    code, text = cli("explain", str(user), "--show-pii", **env)
    assert code == 0, text
    (person,) = [u for u in dbs.world.users if u.id == user]
    assert text.splitlines()[0].startswith(f"legacy user {user}: migrated "), text
    assert f"  name: Zoë {person.last_name}; e-mail: {person.email!r}" in text.splitlines(), text
    code, text = cli("run", "--expected-count", "40", **env)
    assert code == 0, text
    assert text.splitlines()[-1].endswith(" succeeded."), text
    assert sorted(d["legacy_user_id"] for d in doctors(dbs.target_url).values()
                  if d["legacy_user_id"]) == sorted(dbs.world.clean_ids)


def test_year_one_on_a_source_not_in_utc(servers, dagster_home):
    """A date_joined of year 1 in a New York session is 1 BC to Python: the source is read in
    UTC, and the mapping carries the date as it is."""
    dbs = _source_database(servers, "legacy_new_york", "CREATE DATABASE {}")
    user = dbs.world.clean_ids[0]
    with dbs.source() as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET TimeZone = 'America/New_York'").format(
            sql.Identifier("legacy_new_york")))
        conn.execute("UPDATE auth_user SET date_joined = '0001-01-01 00:00:00+00' WHERE id = %s",
                     (user,))
    with dbs.source() as conn:  # nothing written to the source: its TimeZone stays New York's
        assert conn.execute("SHOW TimeZone").fetchone()[0] == "America/New_York"
    code, text = cli("run", "--expected-count", "40", SOURCE_DATABASE_URL=dbs.source_url,
                     SUPABASE_DATABASE_URL=dbs.target_url)
    assert code == 0, text
    assert "Traceback" not in text
    joined = datetime(1, 1, 1, tzinfo=UTC)
    (row,) = doctors(dbs.target_url, f"legacy_user_id = {user}").values()
    assert (row["licensed_since"], row["joined_practice_at"], row["years_experience"]) == (
        date(1, 1, 1), joined, years_since(joined, datetime.now(UTC).date()))


def every_file(home: Path) -> str:
    """The bytes of every file under `home` (SQLite databases included), as text."""
    return "\n".join(p.read_bytes().decode("utf-8", "replace")
                     for p in sorted(home.rglob("*")) if p.is_file())


@pytest.mark.parametrize("tail, reason", [
    ("", "it holds more than one @"),
    ("%zz", "invalid percent-encoded token"),
])
def test_password_with_a_raw_at_sign(small_dbs, dagster_home, tail, reason):
    """libpq ends the password at its first @ and reads the rest as the host: no part of
    what the operator wrote as the password may show."""
    secret = f"Pw@{uuid.uuid4().hex}{tail}"
    url = f"postgresql://migrator:{secret}@127.0.0.1:5432/postgres"
    before = snapshot(small_dbs.target_url)
    hint = (f"URL is not valid ({reason}): percent-encode any @, :, /, % or ? in its user name or "
            "password (@ as %40)")
    texts = []
    for variable, role, command, expected in [
        ("SUPABASE_DATABASE_URL", "target", ["run", "--expected-count", "40"],
         f"error at profile_coverage: the target database {hint}"),
        ("SUPABASE_DATABASE_URL", "target", ["history"],
         f"doctor-migration: error: the target database {hint}"),
        ("SOURCE_DATABASE_URL", "source", ["explain", "3"],
         f"doctor-migration: error: the source database {hint}"),
    ]:
        code, text = cli(*command, **{variable: url})
        assert code == BAD_INPUT, text
        assert "Traceback" not in text
        assert text.splitlines()[-1] == expected, text
        texts.append(text)
    assert snapshot(small_dbs.target_url) == before
    for where in ("\n".join(texts), every_file(dagster_home)):
        assert secret not in where
        assert secret.split("@")[1] not in where


@pytest.fixture(scope="module")
def password_server():
    with PasswordServer() as server:
        yield server


def test_os_user_without_a_passwd_entry(password_server, open_dir):
    """A container's arbitrary uid has no name: the ledger records `uid N`."""
    uid = 54321
    with pytest.raises(KeyError):
        pwd.getpwuid(uid)
    user, password = f"mig_{uuid.uuid4().hex[:6]}", f"Pw-{uuid.uuid4().hex}"
    password_server.create_role(user, password)
    dbs = make_databases((password_server, password_server), generate_world(40, seed=11))
    home = open_dir / "home"
    home.mkdir()
    os.chown(home, uid, uid)
    env = {"DAGSTER_HOME": str(home), "HOME": str(home), "USER": "", "LOGNAME": "",
           "LNAME": "", "USERNAME": "",
           "SOURCE_DATABASE_URL": password_server.tcp_url(
               conninfo_to_dict(dbs.source_url)["dbname"], user, password),
           "SUPABASE_DATABASE_URL": password_server.tcp_url(
               conninfo_to_dict(dbs.target_url)["dbname"], user, password)}
    code, text = cli("run", "--expected-count", "40", user=uid, **env)
    assert code == 0, text
    code, text = cli("rollback", "--last", user=uid, **env)
    assert code == 0, text
    with dbs.target() as conn:
        assert conn.execute("SELECT os_user, rolled_back_by FROM doctor_migration.runs"
                            ).fetchall() == [(f"uid {uid}", f"{user} (uid {uid})")]


def test_ctrl_c_during_the_load(small_dbs, tmp_path):
    """SIGINT while the load waits for its lock: one sentence, exit 130, the target as it was.
    (EXCLUSIVE lets the preflight's and the profile read's ACCESS SHARE through.)"""
    before = snapshot(small_dbs.target_url)
    out = tmp_path / "out"
    with small_dbs.target() as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE public.doctors IN EXCLUSIVE MODE")
        tool = start_cli(["run", "--expected-count", "40"], out)
        try:
            wait_for(lambda: any(s[3] == "Lock" for s in tool_sessions(small_dbs.target_url)),
                     "the load to wait for its lock", timeout=60)
            tool.send_signal(signal.SIGINT)
            assert tool.wait(60) == 130, out.read_text()
        finally:
            if tool.poll() is None:
                tool.kill()
        blocker.execute("ROLLBACK")
    lines = out.read_text().splitlines()
    assert lines[-4:] == [
        "  FAILED loaded_doctors", "",
        f"The run {lines[0].split()[2]} did not complete; nothing was written to the target.",
        "interrupted: the target's transaction was rolled back"], lines
    assert "error ignored" not in out.read_text()
    assert snapshot(small_dbs.target_url) == before
    wait_for(lambda: not tool_sessions(small_dbs.target_url), "the tool's sessions to end")


def test_check_violation_shows_no_row_data(small_dbs, dagster_home):
    """PostgreSQL's DETAIL quotes the failing row: neither the screen nor Dagster's records
    get it, only the constraint's name."""
    phone = "+1 555 0100 123"
    with small_dbs.target() as conn:
        conn.execute(sql.SQL("ALTER TABLE public.doctors ADD COLUMN phone text DEFAULT {}")
                     .format(sql.Literal(phone)))
        conn.execute("ALTER TABLE public.doctors ADD CONSTRAINT phone_only_native "
                     "CHECK (legacy_user_id IS NULL OR phone IS NULL)")
    before = snapshot(small_dbs.target_url)
    code, text = cli("run", "--expected-count", "40")
    assert code == 1, text
    assert text.splitlines()[-1] == ('error at loaded_doctors: new row for relation "doctors" '
                                     'violates check constraint "phone_only_native"'), text
    assert snapshot(small_dbs.target_url) == before
    recorded = every_file(dagster_home / "history")  # the runs and their event logs (SQLite)
    for where in (text, recorded, every_file(dagster_home)):
        assert phone not in where
    people = [v for u in small_dbs.world.users for v in (u.email, u.first_name, u.last_name)
              if v and len(v.strip()) > 3]
    for where in (text, recorded):
        assert not [p for p in people if p in where]
