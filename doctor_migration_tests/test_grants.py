"""The tool's tables in schema doctor_migration (the stage, which holds names and e-mails, and
the run ledger) carry no grant but the tool's role's and their owners', whatever default
privileges say or a GRANT by hand added since; the roles that no grant can stop (superusers,
members of pg_read_all_data or of the tables' owner) are named by the preflight, as a warning."""

from __future__ import annotations

import logging
import uuid

import psycopg
import pytest
from psycopg import sql

from doctor_migration import runner
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.target import TOOL_TABLES
from doctor_migration.names import EXIT_OK
from doctor_migration_tests.helpers import migrate
from doctor_migration_tests.servers import with_user
from doctor_migration_tests.test_least_privilege import MIGRATOR, create_migrator
from doctor_migration_tests.test_metadata import materialized

EVERY_PRIVILEGE = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
READERS = ("roles that may read the stage (names and e-mails) and the run ledger whatever the "
           "grants on them: ")


def new_role(conn: psycopg.Connection, *attributes: str) -> str:
    """A fresh role (roles are per server, so the name is unique)."""
    name = f"reporting_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE ROLE {} " + " ".join(attributes)).format(sql.Identifier(name)))
    return name


def acl(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """(table, grantee) of every grant on the tool's tables and on their columns."""
    return set(conn.execute(
        "SELECT c.relname, CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
        "LATERAL (SELECT relacl UNION ALL SELECT attacl FROM pg_attribute "
        "         WHERE attrelid = c.oid AND attacl IS NOT NULL) AS acls(entries), "
        "aclexplode(acls.entries) a "
        "WHERE n.nspname = 'doctor_migration' AND c.relname = ANY(%s)",
        (list(TOOL_TABLES),)).fetchall())


def privileged(conn: psycopg.Connection, role: str, tables=TOOL_TABLES) -> list[str]:
    """The tool's tables on which `role` holds any privilege, on the table or a column."""
    return [t for t in tables if conn.execute(
        "SELECT has_table_privilege(%(r)s, %(t)s, %(all)s) "
        "OR has_any_column_privilege(%(r)s, %(t)s, 'SELECT, INSERT, UPDATE, REFERENCES')",
        {"r": role, "t": f"doctor_migration.{t}", "all": EVERY_PRIVILEGE}).fetchone()[0]]


def unreadable(url: str) -> list[str]:
    """The tool's tables a SELECT as the URL's role is refused."""
    refused = []
    with psycopg.connect(url, autocommit=True) as conn:
        for name in TOOL_TABLES:
            try:
                conn.execute(sql.SQL("SELECT * FROM {}").format(
                    sql.Identifier("doctor_migration", name)))
            except psycopg.errors.InsufficientPrivilege:
                refused.append(name)
    return refused


def warnings_logged(run_id: str) -> list[str]:
    return [e.user_message for e in runner.instance().all_logs(run_id)
            if e.level == logging.WARNING and e.dagster_event is None]


@pytest.fixture
def reporting(small_dbs) -> str:
    """A login role for reports, with the use of the tool's schema; default privileges that the
    tool's role (postgres) set before the first run give it, PUBLIC and the API roles every
    table postgres makes, anywhere or in doctor_migration."""
    with small_dbs.target() as conn:
        role = new_role(conn, "LOGIN")
    with psycopg.connect(small_dbs.target_url, autocommit=True) as conn:
        assert conn.info.user == "postgres"
        conn.execute(load_sql("create_tool_schema"))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA doctor_migration TO {}").format(
            sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA doctor_migration "
                             "GRANT SELECT ON TABLES TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {}, PUBLIC, "
                             "anon, authenticated, service_role").format(sql.Identifier(role)))
    return role


def test_default_privileges_grant_the_tools_tables_to_nobody(small_dbs, reporting):
    run = migrate(40)
    assert run.exit_code == EXIT_OK, run.failures
    with small_dbs.target() as conn:
        assert acl(conn) == {(name, "postgres") for name in TOOL_TABLES}
        assert privileged(conn, reporting) == []
        for role in ("anon", "authenticated", "service_role"):
            assert privileged(conn, role) == []
    assert unreadable(with_user(small_dbs.target_url, reporting)) == list(TOOL_TABLES)
    assert "preflight_warnings" not in materialized(run, "profile_coverage")
    assert warnings_logged(run.run_id) == []


def test_a_grant_added_by_hand_is_gone_after_the_next_run(small_dbs, reporting):
    assert migrate(40).exit_code == EXIT_OK
    with psycopg.connect(small_dbs.target_url, autocommit=True) as conn:  # as the tool's role
        ident = sql.Identifier(reporting)
        conn.execute(sql.SQL("GRANT SELECT ON doctor_migration.clean_doctors TO {} "
                             "WITH GRANT OPTION").format(ident))
        conn.execute(sql.SQL("GRANT SELECT (email) ON doctor_migration.profile_coverage "
                             "TO {}").format(ident))
        conn.execute("GRANT SELECT ON doctor_migration.runs, doctor_migration.row_changes "
                     "TO PUBLIC, anon, authenticated")
    with small_dbs.target() as conn:
        # Passed on by the role itself: it goes with the grant it came from.
        conn.execute(sql.SQL("SET ROLE {}").format(ident))
        conn.execute("GRANT SELECT ON doctor_migration.clean_doctors TO service_role")
        conn.execute("RESET ROLE")
        assert acl(conn) == {(name, "postgres") for name in TOOL_TABLES} | {
            ("clean_doctors", reporting), ("profile_coverage", reporting),
            ("clean_doctors", "service_role"),
            *((name, role) for name in ("runs", "row_changes")
              for role in ("PUBLIC", "anon", "authenticated"))}

    rerun = migrate(40)
    assert rerun.exit_code == EXIT_OK, rerun.failures
    assert rerun.report_json["counts"]["unchanged"] == 40
    with small_dbs.target() as conn:
        assert acl(conn) == {(name, "postgres") for name in TOOL_TABLES}
        for role in (reporting, "anon", "authenticated", "service_role"):
            assert privileged(conn, role) == []
    assert unreadable(with_user(small_dbs.target_url, reporting)) == list(TOOL_TABLES)


def test_a_grant_the_tools_role_may_not_revoke_is_named_and_the_run_goes_on(small_dbs):
    url = create_migrator(small_dbs)
    assert migrate(40).exit_code == EXIT_OK  # as postgres: the tables are postgres's
    with small_dbs.target() as conn:
        role = new_role(conn, "LOGIN")
        conn.execute(sql.SQL("GRANT SELECT ON doctor_migration.runs TO {}").format(
            sql.Identifier(role)))
    warning = (f"role {MIGRATOR} may not revoke the grants of {role} on doctor_migration.runs "
               "(only its owner may): as postgres, run REVOKE ALL ON doctor_migration.runs "
               f"FROM {role} CASCADE")

    with pytest.MonkeyPatch.context() as env:
        env.setenv("SUPABASE_DATABASE_URL", url)
        run = migrate(40)
    assert run.exit_code == EXIT_OK, run.failures
    assert materialized(run, "profile_coverage")["preflight_warnings"].value == warning
    assert warnings_logged(run.run_id) == [warning]
    with small_dbs.target() as conn:
        assert privileged(conn, role) == ["runs"]


def test_preflight_names_the_roles_that_read_past_every_grant(small_dbs):
    with small_dbs.target() as conn:
        everything = new_role(conn, "LOGIN")
        superuser = new_role(conn, "LOGIN SUPERUSER")
        through_owner = new_role(conn, "LOGIN")
        group = new_role(conn, "NOLOGIN")  # no session of its own: its login members count
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}, {}").format(
            sql.Identifier(everything), sql.Identifier(group)))
        conn.execute(sql.SQL("GRANT postgres TO {}").format(sql.Identifier(through_owner)))
    try:
        run = migrate(40)
        assert run.exit_code == EXIT_OK, run.failures
        reasons = {everything: "member of pg_read_all_data", superuser: "superuser",
                   through_owner: "member of postgres, owner of the tool's tables"}
        warning = READERS + ", ".join(f"{r} ({reasons[r]})" for r in sorted(reasons))
        assert materialized(run, "profile_coverage")["preflight_warnings"].value == warning
        assert warnings_logged(run.run_id) == [warning]
        # What it warns of is so: no grant on the tool's tables, and yet it reads them.
        with small_dbs.target() as conn:
            assert acl(conn) == set()  # the owner's default privileges only
        with psycopg.connect(with_user(small_dbs.target_url, everything)) as conn:
            assert conn.execute("SELECT count(*) FROM doctor_migration.clean_doctors "
                                "WHERE run_id = %s", (run.run_id,)).fetchone() == (40,)
    finally:
        with small_dbs.target() as conn:
            for role in (everything, superuser, through_owner, group):
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
