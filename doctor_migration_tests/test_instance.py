"""The repository's dagster.yaml as a real instance: runs and events in PostgreSQL through
dagster-postgres, one run at a time, no telemetry."""

import shutil
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from doctor_migration_tests.helpers import migrate

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def postgres_home(servers, dagster_home, monkeypatch):
    """DAGSTER_HOME holding the repository's dagster.yaml; returns the storage database's URL."""
    storage = servers[1].create_database("dagster_instance")
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    # A Unix-socket URL: for psycopg2 the socket directory goes in the query string.
    monkeypatch.setenv("DAGSTER_POSTGRES_URL",
                       storage.replace("postgresql://", "postgresql+psycopg2://", 1))
    return storage


def test_a_migration_run_is_recorded_in_postgresql(small_dbs, postgres_home):
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    with psycopg.connect(postgres_home) as conn:
        [(status,)] = conn.execute(
            "SELECT status FROM runs WHERE run_id = %s", (outcome.run_id,)).fetchall()
        materialized = conn.execute(
            "SELECT DISTINCT asset_key FROM event_logs WHERE run_id = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'", (outcome.run_id,)).fetchall()
    assert status == "SUCCESS"
    assert len(materialized) == 5
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(outcome.run_id).is_success
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert not instance.telemetry_enabled


def test_a_plain_postgresql_url_picks_psycopg3_and_fails(postgres_home, monkeypatch):
    """Why dagster.yaml asks for postgresql+psycopg2://: SQLAlchemy 2.1 reads a plain
    postgresql:// as psycopg 3, whose server-side binding breaks dagster-postgres's NOTIFY."""
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", postgres_home)

    @dg.asset
    def anything() -> int:
        return 1

    with dg.DagsterInstance.get() as instance, pytest.raises(Exception, match="NOTIFY"):
        dg.materialize([anything], instance=instance)


def test_the_instance_is_opened_where_dagster_home_says_and_the_environment_is_left_alone(
        tmp_path, monkeypatch):
    """runner.dagster_home() resolves the home (./.dagster_home when DAGSTER_HOME is unset);
    runner.instance() opens it there without setting DAGSTER_HOME for anyone."""
    import os

    from doctor_migration import runner

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    before = dict(os.environ)
    home = tmp_path.resolve() / ".dagster_home"
    assert runner.dagster_home() == home
    instance = runner.instance()
    assert Path(instance.root_directory) == home
    assert (home / "dagster.yaml").is_file()
    assert dict(os.environ) == before
