"""Targets set up (by accident or not) to mislead the migration: row level security that hides
rows, a search_path that puts public before the session's temp tables, json columns, a doctors
sequence that a dry run would advance."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from doctor_migration.migration.mapping import MAPPED_COLUMNS
from doctor_migration.runner import roll_back
from doctor_migration.names import EXIT_BAD_INPUT
from doctor_migration_tests.helpers import doctors, lone_clean_ids, migrate, snapshot
from doctor_migration_tests.servers import with_user
from doctor_migration_tests.test_preflight import grant, new_role


def as_role(conn: psycopg.Connection, statement: str, *roles: str) -> None:
    conn.execute(sql.SQL(statement).format(*(sql.Identifier(r) for r in roles)))


def test_policies_that_may_hide_rows_are_refused_and_the_suggested_policies_fix_it(
        small_dbs, monkeypatch):
    assert migrate(40).success  # as postgres: the ledger exists, 40 migrated rows
    aged, gone = lone_clean_ids(small_dbs.world)[:2], lone_clean_ids(small_dbs.world)[2]
    with small_dbs.target() as conn:
        # Supabase's postgres: not a superuser, owns the tables, has BYPASSRLS.
        owner = new_role(conn, "NOSUPERUSER", "CREATEROLE", "BYPASSRLS")
        migrator = new_role(conn, "NOSUPERUSER", "NOBYPASSRLS")
        for table in ("public.doctors", "public.profiles", "public.appointments"):
            as_role(conn, f"ALTER TABLE {table} OWNER TO {{}}", owner)
        grant(conn, "SELECT, INSERT, UPDATE, DELETE", "public.doctors", migrator)
        grant(conn, "SELECT", "public.profiles", migrator)
        grant(conn, "SELECT", "public.appointments", migrator)
        grant(conn, "SELECT, INSERT, UPDATE", "doctor_migration.runs", migrator)
        grant(conn, "SELECT, INSERT, UPDATE", "doctor_migration.row_changes", migrator)
        grant(conn, "SELECT, INSERT", "doctor_migration.run_digests", migrator)
        for table in ("stages", "profile_coverage", "clean_doctors", "source_users",
                      "doctor_rows"):  # the stage, the tool's workspace
            grant(conn, "SELECT, INSERT, UPDATE, DELETE", f"doctor_migration.{table}", migrator)
        as_role(conn, "GRANT USAGE ON SCHEMA doctor_migration TO {}", migrator)
        # Policies that exist for every command, and hide old rows.
        as_role(conn, "CREATE POLICY p ON public.doctors FOR ALL TO {} "
                      "USING (created_at > '2024-01-01') WITH CHECK (true)", migrator)
        as_role(conn, "CREATE POLICY q ON public.profiles FOR SELECT TO {} "
                      "USING (profile_type = 'doctor')", migrator)
        conn.execute("UPDATE public.doctors SET created_at = '2020-01-01' "
                     "WHERE legacy_user_id = ANY(%s)", ([*aged, gone],))
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
    monkeypatch.setenv("SUPABASE_DATABASE_URL", with_user(small_dbs.target_url, migrator))
    before = snapshot(small_dbs.target_url)

    refused = migrate(39)
    assert refused.exit_code == EXIT_BAD_INPUT
    bypass = "connect as a role with BYPASSRLS (on Supabase: postgres) or as the table's owner"
    assert refused.failures == [(
        "error at profile_coverage: the target is not ready for the migration, nothing was "
        f"changed: row level security may hide rows of public.doctors from role {migrator} "
        f"(it is enabled, {migrator} neither owns the table nor has BYPASSRLS, and no policy "
        "for it or PUBLIC that is USING (true) WITH CHECK (true) lets it SELECT, UPDATE or "
        f"DELETE every row): {bypass}, or, as the table's owner, run CREATE POLICY "
        f"doctor_migration_all ON public.doctors FOR ALL TO {migrator} USING (true) WITH CHECK "
        f"(true); row level security may hide rows of public.profiles from role {migrator} "
        f"(it is enabled, {migrator} neither owns the table nor has BYPASSRLS, and no policy "
        "for it or PUBLIC that is USING (true) lets it SELECT every row): "
        f"{bypass}, or, as the table's owner, run CREATE POLICY doctor_migration_read ON "
        f"public.profiles FOR SELECT TO {migrator} USING (true); "
        # appointments' own policies show it no row: a doctor it references would look free.
        f"row level security may hide rows of public.appointments from role {migrator} "
        f"(it is enabled, {migrator} neither owns the table nor has BYPASSRLS, and no policy "
        "for it or PUBLIC that is USING (true) lets it SELECT every row): "
        f"{bypass}, or, as the table's owner, run CREATE POLICY doctor_migration_read ON "
        f"public.appointments FOR SELECT TO {migrator} USING (true)")]
    assert snapshot(small_dbs.target_url) == before

    fixes = re.findall(r"CREATE POLICY .*? USING \(true\)(?: WITH CHECK \(true\))?",
                       refused.failures[0])
    assert len(fixes) == 3
    with psycopg.connect(with_user(small_dbs.target_url, owner), autocommit=True) as conn:
        for statement in fixes:
            conn.execute(statement)

    outcome = migrate(39)
    assert outcome.success, outcome.failures
    with small_dbs.target() as conn:
        per_user = dict(conn.execute(
            "SELECT legacy_user_id, count(*) FROM public.doctors "
            "WHERE legacy_user_id IS NOT NULL GROUP BY legacy_user_id").fetchall())
    assert per_user == {u: 1 for u in small_dbs.world.clean_ids if u != gone}
    kept = doctors(small_dbs.target_url, f"legacy_user_id IN ({aged[0]:d}, {aged[1]:d})")
    assert {r["created_at"].year for r in kept.values()} == {2020}  # the same rows, kept


def test_the_load_never_uses_public_tables_named_like_its_temp_tables(small_dbs):
    assert migrate(40).success
    stale, edited = lone_clean_ids(small_dbs.world)[:2]
    with small_dbs.target() as conn:
        columns = sql.SQL(", ").join(map(sql.Identifier, MAPPED_COLUMNS))
        # Leftovers of someone's experiment, shaped like the tool's temp tables.
        conn.execute(sql.SQL("CREATE TABLE public.doctor_stage AS SELECT {} FROM public.doctors "
                             "WHERE legacy_user_id = %s").format(columns), (stale,))
        conn.execute("UPDATE public.doctor_stage SET bio = 'stale'")
        conn.execute("CREATE TABLE public.doctor_changes AS SELECT id AS doctor_id, "
                     "legacy_user_id, 'delete'::text AS action, NULL::text[] AS changed_columns "
                     "FROM public.doctors WHERE legacy_user_id = %s", (stale,))
        conn.execute("UPDATE public.doctors SET bio = 'edited' WHERE legacy_user_id = %s",
                     (edited,))
        # And a function that shadows a built-in for whoever puts public before pg_catalog.
        conn.execute("CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql "
                     "AS $$ SELECT timestamptz '2000-01-01 00:00+00' $$")
        as_role(conn, "ALTER ROLE postgres IN DATABASE {} "
                      "SET search_path = public, pg_catalog, pg_temp", conn.info.dbname)

    def leftovers() -> list:
        with small_dbs.target() as conn:
            return [conn.execute(f"SELECT * FROM public.{t} ORDER BY 1").fetchall()
                    for t in ("doctor_stage", "doctor_changes")]

    before = leftovers()
    plan = migrate(40, dry_run=True)
    assert plan.success, plan.failures
    assert plan.report_json["counts"] == {"clean_doctors": 40, "inserted": 0, "updated": 1,
                                          "unchanged": 39, "deleted": 0}
    run = migrate(40)
    assert run.success, run.failures
    assert run.report_json["counts"] == plan.report_json["counts"]
    assert [c["column"] for c in run.report_json["changed_columns"]] == ["bio"]
    rows = {r["legacy_user_id"]: r for r in doctors(small_dbs.target_url).values()}
    assert rows[stale]["bio"] == rows[edited]["bio"] == "Migrated doctor profile"
    assert rows[edited]["updated_at"].year > 2000
    assert leftovers() == before
    rerun = migrate(40)
    assert rerun.success, rerun.failures
    assert rerun.report_json["counts"]["unchanged"] == 40


def test_json_columns_are_compared_as_jsonb(small_dbs):
    with small_dbs.target() as conn:
        for column in ("working_hours", "migration_metadata"):
            as_role(conn, "ALTER TABLE public.doctors ALTER COLUMN {0} DROP DEFAULT, "
                          "ALTER COLUMN {0} TYPE json USING {0}::json", column)
    first = migrate(40)
    assert first.success, first.failures
    with small_dbs.target() as conn:
        xmins = dict(conn.execute("SELECT id, xmin::text FROM public.doctors").fetchall())
    rerun = migrate(40)
    assert rerun.success, rerun.failures
    assert rerun.report_json["counts"]["unchanged"] == 40
    with small_dbs.target() as conn:
        assert dict(conn.execute("SELECT id, xmin::text FROM public.doctors").fetchall()) == xmins
        uid = lone_clean_ids(small_dbs.world)[0]
        conn.execute("UPDATE public.doctors SET working_hours = '{\"stale\": true}' "
                     "WHERE legacy_user_id = %s", (uid,))
    plan = migrate(40, dry_run=True)
    assert plan.success, plan.failures
    assert plan.report_json["changed_columns"] == [
        {"column": "working_hours", "doctors": 1, "examples": [uid]}]
    run = migrate(40)
    assert run.success, run.failures
    assert run.report_json["counts"]["updated"] == 1
    undo = roll_back(run.run_id, progress=False)
    assert undo.success, undo.failures
    with small_dbs.target() as conn:
        assert conn.execute("SELECT working_hours::text FROM public.doctors "
                            "WHERE legacy_user_id = %s", (uid,)).fetchone()[0] == \
            '{"stale": true}'


def test_plan_names_the_doctors_sequences_it_advances(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ADD COLUMN row_no bigserial, "
                     "ADD COLUMN ident integer GENERATED ALWAYS AS IDENTITY")
        natives = conn.execute("SELECT count(*) FROM public.doctors").fetchone()[0]
    before = snapshot(small_dbs.target_url)
    plan = migrate(40, dry_run=True)
    assert plan.success, plan.failures
    assert snapshot(small_dbs.target_url) == before
    with small_dbs.target() as conn:
        assert [conn.execute(f"SELECT last_value FROM public.{s}").fetchone()[0]
                for s in ("doctors_ident_seq", "doctors_row_no_seq")] == [natives + 40] * 2
    assert plan.report_json["sequences_advanced"] == [
        {"sequence": "public.doctors_ident_seq", "values": 40},
        {"sequence": "public.doctors_row_no_seq", "values": 40}]
    assert ("**Dry run: nothing was written,** except that the rolled-back inserts took "
            "values from sequences, which no rollback returns: 40 from "
            "public.doctors_ident_seq, 40 from public.doctors_row_no_seq. The counts are what "
            "a run would do now.") in plan.report
    run = migrate(40)
    assert run.success, run.failures
    assert run.report_json["sequences_advanced"] == []
