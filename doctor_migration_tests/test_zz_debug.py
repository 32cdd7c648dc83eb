import psycopg
from psycopg import sql
from doctor_migration import cli
from doctor_migration.migration import db
from doctor_migration_tests.test_messages import dbname


def test_debug(small_dbs, monkeypatch):
    name = dbname(small_dbs.source_url)
    with small_dbs.source() as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET statement_timeout = '1ms'").format(sql.Identifier(name)))
    real = db._server_limit
    seen = []
    def spy(conninfo, role, name):
        r = real(conninfo, role, name)
        seen.append((role, name, r))
        return r
    monkeypatch.setattr(db, "_server_limit", spy)
    orig = db.setting_error
    def spy2(conninfo, url, role, conn, exc):
        r = orig(conninfo, url, role, conn, exc)
        seen.append(("setting_error", role, type(exc).__name__, exc.sqlstate, str(exc)[:80], r))
        return r
    monkeypatch.setattr(db, "setting_error", spy2)
    for attempt in range(6):
        seen.clear()
        code = cli.main(["run", "--expected-count", "40"])
        print("CODE", code, seen)
        if code == 1:
            break
    assert False
