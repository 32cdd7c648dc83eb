"""The least-privilege login of docs/operating.md: sql/create_doctor_migrator.sql, run as
Supabase's `postgres` (not a superuser), is all a role needs to plan, run, rerun and roll back;
and it has nothing more than that."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from doctor_migration.migration.db import load_sql
from doctor_migration.runner import roll_back
from doctor_migration_tests.helpers import doctors, lone_clean_ids, migrate
from doctor_migration_tests.servers import with_user
from doctor_migration_tests.test_clear_errors import cli

MIGRATOR = "doctor_migrator"


def create_migrator(dbs) -> str:
    """Run the shipped SQL as postgres, as docs/operating.md says; the URL of the new login."""
    with psycopg.connect(dbs.target_url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user, rolsuper FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == ("postgres", False)
        conn.execute(load_sql("create_doctor_migrator"))
    return with_user(dbs.target_url, MIGRATOR)


def state(url: str) -> dict:
    """Every column of every doctors row except updated_at (the target's trigger sets it)."""
    return {k: {c: v for c, v in row.items() if c != "updated_at"}
            for k, row in doctors(url).items()}


def counts(output: str) -> dict[str, int]:
    return {name: int(n) for name, n in re.findall(r"^\| ([a-z ()]+) \| (\d+) \|$", output,
                                                    re.MULTILINE)}


def test_plan_run_rerun_and_rollback_as_doctor_migrator_through_the_command(
        small_dbs, monkeypatch):
    url = create_migrator(small_dbs)
    monkeypatch.setenv("SUPABASE_DATABASE_URL", url)
    before = state(small_dbs.target_url)

    code, plan = cli("plan", "--expected-count", "40")
    assert code == 0, plan
    assert counts(plan)["inserted"] == 40 and "succeeded." in plan
    assert state(small_dbs.target_url) == before

    code, run = cli("run", "--expected-count", "40")
    assert code == 0, run
    assert counts(run)["inserted"] == 40
    first = re.search(r"^Run (\S+) succeeded\.$", run, re.MULTILINE).group(1)
    migrated = {r["legacy_user_id"] for r in doctors(small_dbs.target_url).values()
                if r["legacy_user_id"] is not None}
    assert migrated == set(small_dbs.world.clean_ids)
    after_first = state(small_dbs.target_url)

    code, rerun = cli("run", "--expected-count", "40")
    assert code == 0, rerun
    assert counts(rerun)["unchanged (not written)"] == 40 and counts(rerun)["inserted"] == 0
    assert state(small_dbs.target_url) == after_first

    code, history = cli("history")
    assert code == 0, history
    assert history.count(f" {MIGRATOR}/") == 2, history

    code, undo = cli("rollback", "--last")  # the rerun changed nothing: the first run is undone
    assert code == 0, undo
    assert f"Run {first} rolled back" in undo
    assert state(small_dbs.target_url) == before


def test_doctor_migrator_takes_over_the_ledger_of_earlier_runs_as_postgres(
        small_dbs, monkeypatch):
    before = state(small_dbs.target_url)
    by_postgres = migrate(40)
    assert by_postgres.success, by_postgres.failures
    gone = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
    monkeypatch.setenv("SUPABASE_DATABASE_URL", create_migrator(small_dbs))

    plan = migrate(39, dry_run=True)
    assert plan.success, plan.failures
    assert plan.report_json["counts"]["deleted"] == 1
    by_migrator = migrate(39)
    assert by_migrator.success, by_migrator.failures
    assert by_migrator.report_json["counts"] == {
        "clean_doctors": 39, "inserted": 0, "updated": 0, "unchanged": 39, "deleted": 1}
    assert roll_back(by_migrator.run_id, progress=False).success
    assert roll_back(by_postgres.run_id, progress=False).success
    assert state(small_dbs.target_url) == before


def test_a_run_as_postgres_after_the_file_leaves_a_ledger_doctor_migrator_uses(
        small_dbs, monkeypatch):
    before = state(small_dbs.target_url)
    url = create_migrator(small_dbs)
    by_postgres = migrate(40)  # makes the ledger's tables, owned by postgres
    assert by_postgres.success, by_postgres.failures
    monkeypatch.setenv("SUPABASE_DATABASE_URL", url)
    rerun = migrate(40)
    assert rerun.success, rerun.failures
    assert rerun.report_json["counts"]["unchanged"] == 40
    for outcome in (rerun, by_postgres):
        undo = roll_back(outcome.run_id, progress=False)
        assert undo.success, undo.failures
    assert state(small_dbs.target_url) == before


def test_doctor_migrator_has_nothing_more(small_dbs):
    with small_dbs.target() as conn:  # a project that took TEMPORARY from PUBLIC
        conn.execute(f"REVOKE TEMPORARY ON DATABASE {conn.info.dbname} FROM PUBLIC")
    url = create_migrator(small_dbs)
    create_migrator(small_dbs)  # it may run again
    with small_dbs.target() as conn:
        dbname = conn.info.dbname
        role = conn.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname = %s", (MIGRATOR,)).fetchone()
        assert role == (False, False, False, False)
        assert conn.execute(
            "SELECT has_database_privilege(%(r)s, %(d)s, 'CREATE'), "
            "has_table_privilege(%(r)s, 'public.profiles', 'INSERT, UPDATE, DELETE'), "
            "has_table_privilege(%(r)s, 'public.appointments', 'SELECT'), "
            "has_column_privilege(%(r)s, 'public.appointments', 'doctor_id', 'SELECT'), "
            "has_schema_privilege(%(r)s, 'auth', 'USAGE'), "
            "has_database_privilege(%(r)s, %(d)s, 'TEMPORARY')",
            {"r": MIGRATOR, "d": dbname}).fetchone() == (False, False, False, True, False, True)
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT starts_at FROM public.appointments")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE SCHEMA elsewhere")
        # It owns the ledger's schema: whatever tables a later version keeps there are its own.
        conn.execute("CREATE TABLE doctor_migration.a_later_table (x integer)")
        conn.execute("DROP TABLE doctor_migration.a_later_table")


def test_the_operating_guide_quotes_the_file_verbatim():
    guide = (Path(__file__).resolve().parents[1] / "docs" / "operating.md").read_text()
    assert f"```sql\n{load_sql('create_doctor_migrator')}```\n" in guide
