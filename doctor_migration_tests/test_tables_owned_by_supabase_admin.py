"""Older Supabase projects: the app's tables belong to supabase_admin, and `postgres` has them
through Supabase's default privileges (ALL) and BYPASSRLS only. Run, rerun and rollback work
as `postgres` there too."""

from __future__ import annotations

import pytest

from doctor_migration.demo.world import generate_world
from doctor_migration.runner import roll_back
from doctor_migration.names import EXIT_BAD_INPUT
from doctor_migration_tests.helpers import doctors, make_databases, migrate


@pytest.fixture
def admin_owned(servers, monkeypatch):
    databases = make_databases(servers, generate_world(40, seed=11), owner="supabase_admin")
    monkeypatch.setenv("SOURCE_DATABASE_URL", databases.source_url)
    monkeypatch.setenv("SUPABASE_DATABASE_URL", databases.target_url)
    return databases


def state(url: str) -> dict:
    """Every column of every doctors row except updated_at (the target's trigger sets it)."""
    return {k: {c: v for c, v in row.items() if c != "updated_at"}
            for k, row in doctors(url).items()}


def test_run_rerun_and_rollback_as_postgres(admin_owned):
    with admin_owned.target() as conn:
        owners = conn.execute(
            "SELECT DISTINCT relowner::regrole::text FROM pg_class "
            "WHERE oid IN ('public.doctors'::regclass, 'public.profiles'::regclass, "
            "'public.appointments'::regclass)").fetchall()
        assert owners == [("supabase_admin",)]
    before = state(admin_owned.target_url)

    run = migrate(40)
    assert run.success, run.failures
    assert run.report_json["counts"]["inserted"] == 40
    migrated = {r["legacy_user_id"] for r in doctors(admin_owned.target_url).values()}
    assert migrated - {None} == set(admin_owned.world.clean_ids)
    after = state(admin_owned.target_url)

    rerun = migrate(40)
    assert rerun.success, rerun.failures
    assert rerun.report_json["counts"] == {
        "clean_doctors": 40, "inserted": 0, "updated": 0, "unchanged": 40, "deleted": 0}
    assert state(admin_owned.target_url) == after

    for outcome in (rerun, run):
        undo = roll_back(outcome.run_id, progress=False)
        assert undo.success, undo.failures
    assert state(admin_owned.target_url) == before


def test_the_index_is_left_to_the_tables_owner(admin_owned):
    outcome = migrate(40, create_indexes=True)
    assert outcome.exit_code == EXIT_BAD_INPUT
    assert outcome.failures == [
        "error at loaded_doctors: the index was not created (must be owner of table doctors): "
        "only the owner of public.doctors may create it; ask them to run: CREATE INDEX "
        "CONCURRENTLY doctors_legacy_user_id_idx ON public.doctors (legacy_user_id);"]
    assert doctors(admin_owned.target_url, "legacy_user_id IS NOT NULL") == {}
