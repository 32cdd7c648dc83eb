"""Two real PostgreSQL servers for the whole session (a legacy Django source, and a target shaped
like Supabase: its roles, auth schema, grants and policies), and a fresh pair of databases
with the generated world for each test that asks for one."""

from __future__ import annotations

import pytest

from doctor_migration.demo.embedded import EmbeddedPostgres, supabase_server
from doctor_migration.demo.world import generate_world
from doctor_migration_tests.helpers import Databases, make_databases


@pytest.fixture(scope="session")
def servers():
    with EmbeddedPostgres() as source, supabase_server() as target:
        yield source, target


@pytest.fixture(autouse=True)
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def dbs(servers, monkeypatch) -> Databases:
    """The default world (399 clean doctors), with the environment a run reads pointing at it."""
    databases = make_databases(servers, generate_world(399))
    monkeypatch.setenv("SOURCE_DATABASE_URL", databases.source_url)
    monkeypatch.setenv("SUPABASE_DATABASE_URL", databases.target_url)
    return databases


@pytest.fixture
def small_dbs(servers, monkeypatch) -> Databases:
    """A small world (40 clean doctors) for tests that run the graph many times."""
    databases = make_databases(servers, generate_world(40, seed=11))
    monkeypatch.setenv("SOURCE_DATABASE_URL", databases.source_url)
    monkeypatch.setenv("SUPABASE_DATABASE_URL", databases.target_url)
    return databases
