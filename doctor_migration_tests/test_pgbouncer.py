"""Through a transaction pooler (Supabase's port 6543 is one): a real PgBouncer in
transaction mode, which resets each server connection after every transaction, in front of
both databases. A run, a rerun and the rollbacks all work: nothing relies on session state."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict

from doctor_migration.runner import roll_back
from doctor_migration_tests.helpers import doctors, migrate
from doctor_migration_tests.servers import LOOPBACK, pgbouncer


def pools(port: int) -> dict[str, dict]:
    """PgBouncer's SHOW POOLS, by database (its admin console speaks the simple protocol)."""
    with psycopg.connect(f"postgresql://postgres@{LOOPBACK}:{port}/pgbouncer",
                         autocommit=True) as admin:
        result = admin.pgconn.exec_(b"SHOW POOLS")
        names = [result.fname(i).decode() for i in range(result.nfields)]
        rows = [{n: (result.get_value(r, i) or b"").decode() for i, n in enumerate(names)}
                for r in range(result.ntuples)]
    return {row["database"]: row for row in rows}


def test_run_rerun_and_rollback_through_pgbouncer(servers, small_dbs, monkeypatch):
    source, target = servers
    source_db = conninfo_to_dict(small_dbs.source_url)["dbname"]
    target_db = conninfo_to_dict(small_dbs.target_url)["dbname"]
    before = doctors(small_dbs.target_url)
    with pgbouncer({source_db: source.socket_dir, target_db: target.socket_dir},
                   ["postgres"]) as port:
        monkeypatch.setenv("SOURCE_DATABASE_URL", f"postgresql://postgres@{LOOPBACK}:{port}/"
                                                  f"{source_db}")
        monkeypatch.setenv("SUPABASE_DATABASE_URL", f"postgresql://postgres@{LOOPBACK}:{port}/"
                                                    f"{target_db}")
        first = migrate(40)
        assert first.success, first.failures
        migrated = doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")
        assert len(migrated) == 40
        second = migrate(40)
        assert second.success, second.failures
        assert doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL") == migrated
        for run in (second, first):
            undo = roll_back(run.run_id, progress=False)
            assert undo.success, undo.failures
        seen = pools(port)
    assert doctors(small_dbs.target_url) == before
    assert {seen[source_db]["pool_mode"], seen[target_db]["pool_mode"]} == {"transaction"}
