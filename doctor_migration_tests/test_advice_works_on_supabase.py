"""Every fix the tool suggests is one Supabase's `postgres` (not a superuser) can carry out: each
refusal is provoked on the Supabase-shaped target, the statements are taken from the message
and executed as `postgres`, and then the same command passes."""

from __future__ import annotations

import re

import psycopg
import pytest

from doctor_migration.migration.db import load_sql
from doctor_migration.names import EXIT_BAD_INPUT, EXIT_STOPPED
from doctor_migration_tests.helpers import lone_clean_ids, migrate
from doctor_migration_tests.test_least_privilege import MIGRATOR, create_migrator

POLICY = r"CREATE POLICY .*? USING \(true\)(?: WITH CHECK \(true\))?"


def refused(expected_count: int = 40, **kw) -> str:
    """The command's failure, as one text; it must be a refusal that changed nothing."""
    outcome = migrate(expected_count, dry_run=kw.pop("dry_run", True), **kw)
    assert outcome.exit_code == EXIT_BAD_INPUT, outcome.failures
    return "\n".join(outcome.failures)


def follow(dbs, text: str, pattern: str, count: int) -> list[str]:
    """Execute the statements of `text` that match `pattern` (`count` of them) as postgres,
    in one session, in order."""
    statements = re.findall(pattern, text)
    assert len(statements) == count, (statements, text)
    with psycopg.connect(dbs.target_url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user, rolsuper FROM pg_roles "
                            "WHERE rolname = current_user").fetchone() == ("postgres", False)
        for statement in statements:
            conn.execute(statement)
    return statements


def passes(expected_count: int = 40, **kw) -> None:
    outcome = migrate(expected_count, dry_run=kw.pop("dry_run", True), **kw)
    assert outcome.success, outcome.failures


@pytest.fixture
def as_migrator(small_dbs, monkeypatch):
    """The tool connects as doctor_migrator (sql/create_doctor_migrator.sql, run as postgres)."""
    monkeypatch.setenv("SUPABASE_DATABASE_URL", create_migrator(small_dbs))
    return small_dbs


def test_missing_grants_and_policies(as_migrator):
    with as_migrator.target() as conn:
        conn.execute(f"REVOKE UPDATE ON public.doctors FROM {MIGRATOR}")
        conn.execute(f"REVOKE SELECT ON public.profiles FROM {MIGRATOR}")
        conn.execute(f"REVOKE SELECT (doctor_id) ON public.appointments FROM {MIGRATOR}")
        for table in ("doctors", "profiles", "appointments"):
            name = "doctor_migration_all" if table == "doctors" else "doctor_migration_read"
            conn.execute(f"DROP POLICY {name} ON public.{table}")
    text = refused()
    assert follow(as_migrator, text, r"GRANT [A-Z]+(?: \(doctor_id\))? ON public\.\w+ TO \w+",
                  3) == [f"GRANT UPDATE ON public.doctors TO {MIGRATOR}",
                         f"GRANT SELECT ON public.profiles TO {MIGRATOR}",
                         f"GRANT SELECT (doctor_id) ON public.appointments TO {MIGRATOR}"]
    assert "ALTER ROLE" not in text  # no BYPASSRLS: only a superuser may grant it
    follow(as_migrator, text, POLICY, 3)
    passes()


def test_a_table_in_another_schema_that_references_doctors(as_migrator):
    with psycopg.connect(as_migrator.target_url, autocommit=True) as conn:  # as postgres
        conn.execute("CREATE SCHEMA scheduling")
        conn.execute("CREATE TABLE scheduling.visits (id bigint GENERATED ALWAYS AS IDENTITY, "
                     "doctor_id uuid REFERENCES public.doctors (id) ON DELETE CASCADE)")
        conn.execute("ALTER TABLE scheduling.visits ENABLE ROW LEVEL SECURITY")
    text = refused()
    follow(as_migrator, text, r"GRANT USAGE ON SCHEMA scheduling TO \w+", 1)
    follow(as_migrator, text, r"GRANT SELECT \(doctor_id\) ON scheduling\.visits TO \w+", 1)
    follow(as_migrator, text, POLICY, 1)
    passes()
    # What it is for: a doctor that is no longer clean but has a visit is named, not deleted
    # with its visit by the cascade.
    assert migrate(40).success
    uid = lone_clean_ids(as_migrator.world)[0]
    with as_migrator.target() as conn:
        conn.execute("INSERT INTO scheduling.visits (doctor_id) SELECT id FROM public.doctors "
                     "WHERE legacy_user_id = %s", (uid,))
    with as_migrator.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (uid,))
    stopped = migrate(39)
    assert stopped.exit_code == EXIT_STOPPED
    assert "scheduling.visits has 1 row(s) referencing doctors row" in stopped.failures[0]


@pytest.mark.parametrize("way", ["own schema", "create on the database"])
def test_no_ledger_schema(as_migrator, way):
    with as_migrator.target() as conn:
        conn.execute("DROP SCHEMA doctor_migration")
    text = refused()
    if way == "own schema":
        follow(as_migrator, text, rf"GRANT {MIGRATOR} TO postgres|CREATE SCHEMA doctor_migration "
                                  rf"AUTHORIZATION {MIGRATOR}", 2)
    else:
        follow(as_migrator, text, rf"GRANT CREATE ON DATABASE \w+ TO {MIGRATOR}", 1)
    passes()
    passes(dry_run=False)


def test_a_ledger_schema_it_may_not_use(as_migrator):
    with as_migrator.target() as conn:
        conn.execute("ALTER SCHEMA doctor_migration OWNER TO postgres")
    follow(as_migrator, refused(),
           rf"GRANT USAGE, CREATE ON SCHEMA doctor_migration TO {MIGRATOR}", 1)
    passes(dry_run=False)


def test_a_ledger_it_may_not_use(as_migrator):
    with as_migrator.target() as conn:
        conn.execute("ALTER SCHEMA doctor_migration OWNER TO postgres")
    with psycopg.connect(as_migrator.target_url, autocommit=True) as conn:  # as postgres
        conn.execute(load_sql("create_tool_schema"))
        conn.execute(load_sql("create_ledger"))
        # Undo what the file's default privileges gave it on tables postgres makes there.
        conn.execute("REVOKE ALL ON doctor_migration.runs, doctor_migration.row_changes "
                     f"FROM {MIGRATOR}")
    text = refused()
    follow(as_migrator, text, rf"GRANT USAGE ON SCHEMA doctor_migration TO {MIGRATOR}", 1)
    follow(as_migrator, text, rf"GRANT [A-Z, ]+ ON doctor_migration\.\w+ TO {MIGRATOR}", 2)
    # The stage's tables are still to be made there.
    follow(as_migrator, text, rf"GRANT USAGE, CREATE ON SCHEMA doctor_migration TO {MIGRATOR}", 1)
    passes(dry_run=False)


def test_an_old_ledger_it_does_not_own(as_migrator):
    with psycopg.connect(as_migrator.target_url, autocommit=True) as conn:  # as postgres
        conn.execute(load_sql("create_tool_schema"))
        conn.execute(load_sql("create_ledger"))
        conn.execute("ALTER TABLE doctor_migration.runs DROP COLUMN ledger_format")
        conn.execute("GRANT SELECT, INSERT, UPDATE ON doctor_migration.runs, "
                     f"doctor_migration.row_changes TO {MIGRATOR}")
    text = refused()
    assert "made by an older version" in text
    follow(as_migrator, text, r"ALTER TABLE doctor_migration\.runs ADD COLUMN .*;", 1)
    passes()


def test_no_temporary_tables(as_migrator):
    with as_migrator.target() as conn:
        conn.execute(f"REVOKE TEMPORARY ON DATABASE {conn.info.dbname} FROM PUBLIC, {MIGRATOR}")
    follow(as_migrator, refused(), rf"GRANT TEMPORARY ON DATABASE \w+ TO {MIGRATOR}", 1)
    passes()


def test_read_only_by_default(small_dbs):
    with small_dbs.target() as conn:
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET default_transaction_read_only = on")
    follow(small_dbs, refused(),
           r"SET default_transaction_read_only = off|ALTER ROLE postgres IN DATABASE \w+ SET "
           r"default_transaction_read_only = off", 2)
    passes()


def test_status_enum_without_active(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("ALTER TYPE public.doctor_status RENAME VALUE 'active' TO 'enabled'")
    follow(small_dbs, refused(), r"ALTER TYPE \w+ ADD VALUE 'active'", 1)
    passes()


def test_the_recommended_index(small_dbs):
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    [advice] = follow(small_dbs, outcome.report, r"CREATE INDEX CONCURRENTLY .*;", 1)
    again = migrate(40)
    assert again.success, again.failures
    assert "CREATE INDEX" not in again.report
    assert "Legacy id lookups use the index `doctors_legacy_user_id_idx`." in again.report
    assert f"    {advice}" in outcome.report.splitlines()  # a line of its own, to copy


def test_the_index_doctor_migrator_may_not_create(as_migrator):
    text = refused(dry_run=False, create_indexes=True)
    assert "only the owner of public.doctors may create it" in text
    follow(as_migrator, text, r"CREATE INDEX CONCURRENTLY .*;", 1)
    passes(dry_run=False, create_indexes=True)


def test_a_restrictive_policy_is_left_to_postgres(as_migrator, monkeypatch):
    with psycopg.connect(as_migrator.target_url, autocommit=True) as conn:
        conn.execute("CREATE POLICY \"Recent only\" ON public.doctors AS RESTRICTIVE "
                     "FOR SELECT USING (created_at > '2024-01-01')")
    text = refused()
    assert ("connect as a role with BYPASSRLS (on Supabase: postgres) or as the table's owner, "
            "or, as the table's owner, make policy \"Recent only\" not apply to "
            f"{MIGRATOR}") in text
    monkeypatch.setenv("SUPABASE_DATABASE_URL", as_migrator.target_url)  # postgres
    passes()
