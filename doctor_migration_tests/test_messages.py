"""Messages that name what to do (issue 19, item 9): an empty run id, an id of auth_user's whole
integer range, a SQL_ASCII source, a server's timeout that cancels the tool, and a report that
names its target. One line each, the right exit code, nothing written."""

from __future__ import annotations

import signal

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from doctor_migration import cli as command_line
from doctor_migration.demo.world import generate_world
from doctor_migration.migration import db, target
from doctor_migration.migration.errors import DatabaseBusy
from doctor_migration_tests.helpers import make_databases, migrate, snapshot
from doctor_migration_tests.servers import start_cli, tool_sessions, wait_for
from doctor_migration_tests.test_clear_errors import _source_database, cli, one_error

STOPPED, BAD_INPUT, BUSY = 1, 2, 75


def dbname(url: str) -> str:
    return conninfo_to_dict(url)["dbname"]


@pytest.mark.parametrize("args, sentence", [
    (["rollback", ""], "argument run_id: the run id is empty: give the id of a run "
                       "(`doctor-migration history` lists them), or --last for the newest run"),
    (["rollback", "  "], "argument run_id: the run id is empty: give the id of a run "
                         "(`doctor-migration history` lists them), or --last for the newest run"),
    (["report", ""], "argument run_id: the run id is empty: give the id of a run "
                     "(`doctor-migration history` lists them), or none for the newest run"),
])
def test_an_empty_run_id_is_bad_input(small_dbs, capfd, args, sentence):
    """An unset $RUN_ID must not undo (or show) the newest run unnamed."""
    assert migrate(40).exit_code == 0
    capfd.readouterr()
    before = snapshot(small_dbs.target_url)
    with pytest.raises(SystemExit) as exit_:
        command_line.main(args)
    out, err = capfd.readouterr()
    assert exit_.value.code == BAD_INPUT
    assert (out, err) == ("", f"doctor-migration: error: {sentence}\n")
    assert snapshot(small_dbs.target_url) == before


def test_any_id_auth_user_can_hold(small_dbs):
    """auth_user.id is an integer identity column: 0 and negative ids are users too."""
    with small_dbs.source() as conn:
        for user in (0, -5, -2**31):
            conn.execute("INSERT INTO auth_user (id, password, is_superuser, username, first_name, "
                         "last_name, email, is_staff, is_active, date_joined) VALUES "
                         "(%s, '!', false, %s, 'Old', 'Account', %s, false, false, now())",
                         (user, f"old{user}", f"old{user}@example.org"))
    for args, user in [(["0"], 0), (["--", "-5"], -5), (["-5"], -5),
                       (["--", "-2147483648"], -2**31)]:
        code, text = cli("explain", *args)
        assert code == 0, text
        assert text.splitlines()[0] == (f"legacy user {user}: not migrated: inactive "
                                        "(auth_user.is_active is false)"), text
    for value in ("-2147483649", "2147483648"):
        code, text = cli("explain", "--", value)
        assert code == BAD_INPUT
        one_error(text, f"argument user_id: {value} is outside the range of auth_user.id, an "
                        "integer (-2147483648 to 2147483647)")


def test_latin1_bytes_in_a_sql_ascii_source(servers):
    """A SQL_ASCII database stores whatever bytes it is given; the tool reads text as UTF-8."""
    name = "legacy_latin1"
    dbs = _source_database(servers, name, "CREATE DATABASE {} ENCODING 'SQL_ASCII' "
                           "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    user = dbs.world.clean_ids[0]
    with dbs.source(client_encoding="SQL_ASCII") as conn:  # "Zoë" in Latin-1
        conn.execute("UPDATE auth_user SET first_name = convert_from('\\x5a6feb', 'SQL_ASCII') "
                     "WHERE id = %s", (user,))
    env = {"SOURCE_DATABASE_URL": dbs.source_url, "SUPABASE_DATABASE_URL": dbs.target_url}
    sentence = (f"the source database {name} has encoding SQL_ASCII and holds bytes that are "
                "not valid UTF-8, so the tool cannot read its text: convert that text to UTF-8 "
                "(if the bytes are Latin-1: pg_dump --encoding=LATIN1, restored into a database "
                "created with ENCODING 'UTF8') and run against the converted database")
    before = snapshot(dbs.target_url)
    code, text = cli("explain", str(user), "--show-pii", **env)
    assert code == BAD_INPUT
    one_error(text, sentence)
    code, text = cli("run", "--expected-count", "40", **env)
    assert code == BAD_INPUT, text
    assert text.splitlines()[-1] == f"error at clean_doctors: {sentence}", text
    assert snapshot(dbs.target_url) == before


def test_a_source_statement_timeout(small_dbs):
    """The source's own statement_timeout cancels step 1.1: the sentence names the database,
    the setting and a statement its SELECT-only role may run, which lets the run through."""
    name = dbname(small_dbs.source_url)
    with small_dbs.source() as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET statement_timeout = '1ms'")
                     .format(sql.Identifier(name)))
    before = snapshot(small_dbs.target_url)
    code, text = cli("run", "--expected-count", "40")
    assert code == BAD_INPUT, text
    fix = f'ALTER ROLE "legacy_reader" IN DATABASE "{name}" SET statement_timeout = 0'
    assert text.splitlines()[-1] == (
        f"error at clean_doctors: the source database {name} cancelled a statement of the tool "
        f"at its statement_timeout of 1ms for role legacy_reader: run `{fix}` as that role (0 "
        "turns it off; or give a longer value), then run again"), text
    assert snapshot(small_dbs.target_url) == before
    with psycopg.connect(small_dbs.source_url, autocommit=True) as reader:
        reader.execute(fix)
    code, text = cli("run", "--expected-count", "40")
    assert code == 0, text


def test_a_target_idle_in_transaction_timeout(small_dbs, tmp_path):
    """The target ends the tool's session while it sits in a transaction (here: stopped with
    SIGSTOP just as its lock wait ends): the sentence names the setting and how to lift it."""
    assert migrate(40).exit_code == 0
    name = dbname(small_dbs.target_url)
    with small_dbs.target() as conn:  # for the tool's role only: the blocker below is spared
        conn.execute(sql.SQL("ALTER ROLE postgres IN DATABASE {} "
                             "SET idle_in_transaction_session_timeout = '200ms'")
                     .format(sql.Identifier(name)))
    before = snapshot(small_dbs.target_url)
    out = tmp_path / "out"
    with small_dbs.target() as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE doctor_migration.runs IN ACCESS EXCLUSIVE MODE")
        tool = start_cli(["history"], out)
        try:
            wait_for(lambda: any(s[3] == "Lock" for s in tool_sessions(small_dbs.target_url)),
                     "history to wait for the ledger")
            tool.send_signal(signal.SIGSTOP)
            blocker.execute("ROLLBACK")
            wait_for(lambda: not tool_sessions(small_dbs.target_url),
                     "the server to end the tool's idle session")
            tool.send_signal(signal.SIGCONT)
            assert tool.wait(60) == BAD_INPUT, out.read_text()
        finally:
            if tool.poll() is None:
                tool.kill()
    fix = (f'ALTER ROLE "postgres" IN DATABASE "{name}" '
           "SET idle_in_transaction_session_timeout = 0")
    # The server closes the session before its reason reaches the tool: the tool asks it.
    one_error(out.read_text(), (
        "the connection to the target database was lost (consuming input failed: server "
        "closed the connection unexpectedly) while no write was in progress; run again. The "
        f"target database {name} most likely ended the session at its "
        f"idle_in_transaction_session_timeout of 200ms for role postgres: run `{fix}` as that "
        "role (0 turns it off; or give a longer value) before running again"))
    assert snapshot(small_dbs.target_url) == before
    with psycopg.connect(small_dbs.target_url, autocommit=True) as tool_role:
        tool_role.execute(fix)
    code, text = cli("history")
    assert code == 0, text


def test_the_tools_own_statement_timeout_is_not_the_servers(small_dbs):
    """A cancellation by the tool's own limit on the target (target.Timeouts) is not the
    server's setting: the server's longer statement_timeout is left alone, and the operator is
    told to try again (the limit is shortened here only to trigger it)."""
    name = dbname(small_dbs.target_url)
    with small_dbs.target() as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET statement_timeout = '2h'")
                     .format(sql.Identifier(name)))
    with pytest.raises(DatabaseBusy) as raised, \
            db.connect(small_dbs.target_url, "target") as conn, conn.transaction():
        target.configure(conn, "run", "own-limit", target.Timeouts(statement_timeout="50ms"))
        conn.execute("SELECT pg_sleep(1)")
    assert str(raised.value) == (
        f"a statement of the tool on the target database {name} ran longer than the tool's own "
        "statement_timeout of 30min and was cancelled, rolling back its transaction: run again "
        "when the target is less busy")


def test_report_of_the_current_target(servers, small_dbs, monkeypatch, capfd):
    """One DAGSTER_HOME, two targets: `report` shows the newest run against
    SUPABASE_DATABASE_URL and names it; another target's run only by its id."""
    other = make_databases(servers, generate_world(40, seed=11))
    first = migrate(40, dry_run=True).run_id
    monkeypatch.setenv("SOURCE_DATABASE_URL", other.source_url)
    monkeypatch.setenv("SUPABASE_DATABASE_URL", other.target_url)
    second = migrate(40, dry_run=True).run_id
    here, there = db.location(small_dbs.target_url), db.location(other.target_url)
    assert here != there and here.endswith(f"/{dbname(small_dbs.target_url)}")
    capfd.readouterr()

    def report(*args: str) -> tuple[int, list[str]]:
        code = command_line.main(["report", *args])
        out, err = capfd.readouterr()
        return code, (out + err).splitlines()

    monkeypatch.setenv("SUPABASE_DATABASE_URL", small_dbs.target_url)
    code, lines = report()
    assert code == 0
    assert lines[:3] == [f"# Doctor migration plan `{first}`", "", f"Target: `{here}`"]
    code, lines = report(second)
    assert code == 0
    assert lines[:3] == [f"# Doctor migration plan `{second}`", "", f"Target: `{there}`"]
    third = make_databases(servers, generate_world(40, seed=11))
    monkeypatch.setenv("SUPABASE_DATABASE_URL", third.target_url)
    code, lines = report()
    assert code == STOPPED
    home = command_line.os.environ["DAGSTER_HOME"]
    assert lines == [f"doctor-migration: error: no report of any run against "
                     f"{db.location(third.target_url)} in DAGSTER_HOME ({home}); a run against "
                     "another target: give its id"]


def test_report_finds_a_run_the_ui_launched(small_dbs, capfd):
    """"Materialize all" in the UI (the implicit asset job, no launcher of the tool's): its first
    step tags the run with its target, so `report` finds it and names the target."""
    from doctor_migration import runner
    from doctor_migration.definitions import defs

    launched = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        run_config={"resources": {"settings": {"config": {"expected_count": 40}}}},
        instance=runner.instance(), raise_on_error=False)
    assert launched.success
    capfd.readouterr()
    assert command_line.main(["report"]) == 0
    lines = capfd.readouterr().out.splitlines()
    assert lines[:3] == [f"# Doctor migration run `{launched.run_id}`", "",
                         f"Target: `{db.location(small_dbs.target_url)}`"]


def test_a_target_is_named_without_user_or_password():
    assert db.location("postgresql://migrator:s3cret@db.example.co:6543/postgres") == \
        "db.example.co:6543/postgres"
    assert db.location("postgresql://migrator:s3cret@db.example.co/app") == \
        "db.example.co:5432/app"
