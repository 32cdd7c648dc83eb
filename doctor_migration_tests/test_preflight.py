"""Preflight: before anything else, the target and the source are checked for every grant,
table, column and policy the run needs, and a problem is named with its fix."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from doctor_migration.migration import db, preflight
from doctor_migration.migration.errors import MigrationError
from doctor_migration.migration.mapping import MAPPED_COLUMNS
from doctor_migration_tests.helpers import snapshot
from doctor_migration_tests.servers import with_user


def new_role(conn: psycopg.Connection, *attributes: str) -> str:
    """A fresh login role (roles are per server, so the name is unique)."""
    name = f"mig_{uuid.uuid4().hex[:8]}"
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN " + " ".join(attributes)).format(
        sql.Identifier(name)))
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
        sql.Identifier(conn.info.dbname), sql.Identifier(name)))
    return name


def grant(conn: psycopg.Connection, privileges: str, table: str, role: str) -> None:
    conn.execute(sql.SQL("GRANT " + privileges + " ON {} TO {}").format(
        sql.Identifier(*table.split(".")), sql.Identifier(role)))


def see_references(conn: psycopg.Connection, role: str) -> None:
    """What the tool needs of the table that references doctors: its key, every row."""
    grant(conn, "SELECT (doctor_id)", "public.appointments", role)
    conn.execute(sql.SQL("CREATE POLICY {} ON public.appointments FOR SELECT TO {} "
                         "USING (true)").format(sql.Identifier(f"{role}_reads"),
                                                sql.Identifier(role)))


def target_role(dbs, *attributes: str, doctors: str = "SELECT, INSERT, UPDATE, DELETE") -> str:
    """A non-superuser role on the target with the given privileges on doctors."""
    with dbs.target() as conn:
        role = new_role(conn, *attributes)
        grant(conn, doctors, "public.doctors", role)
        grant(conn, "SELECT", "public.profiles", role)
        see_references(conn, role)
        dbname = conn.info.dbname
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(dbname), sql.Identifier(role)))
    return role


def check_target(url: str) -> None:
    with db.connect(url, "target") as conn:
        conn.read_only = True  # it only reads
        preflight.check_target(conn)


def check_source(url: str) -> None:
    with db.connect(url, "source") as conn:
        conn.read_only = True
        preflight.check_source(conn)


def problem(check, url: str) -> str:
    with pytest.raises(MigrationError) as error:
        check(url)
    return str(error.value)


PREFIX = "the target is not ready for the migration, nothing was changed: "


def test_every_mapped_column_has_a_type_to_check():
    assert set(MAPPED_COLUMNS) <= set(preflight.DOCTOR_COLUMNS)


def test_the_generated_world_passes_as_superuser_and_as_a_granted_role(small_dbs):
    before = snapshot(small_dbs.target_url)
    check_target(small_dbs.target_url)
    check_source(small_dbs.source_url)
    role = target_role(small_dbs, "BYPASSRLS")
    check_target(with_user(small_dbs.target_url, role))
    assert snapshot(small_dbs.target_url) == before


def test_missing_update_grant_is_named(small_dbs):
    role = target_role(small_dbs, "BYPASSRLS", doctors="SELECT, INSERT, DELETE")
    assert problem(check_target, with_user(small_dbs.target_url, role)) == (
        f"{PREFIX}role {role} may not UPDATE public.doctors: "
        f"GRANT UPDATE ON public.doctors TO {role}")


def test_row_level_security_without_a_policy_for_the_role_is_named(small_dbs):
    role = target_role(small_dbs)
    url = with_user(small_dbs.target_url, role)
    text = problem(check_target, url)
    assert (f"row level security may hide rows of public.doctors from role {role} (it is "
            f"enabled, {role} neither owns the table nor has BYPASSRLS, and no policy for it or "
            "PUBLIC that is USING (true) WITH CHECK (true) lets it SELECT, INSERT, UPDATE or "
            "DELETE every row): connect as a role with BYPASSRLS (on Supabase: postgres) or as "
            "the table's owner, or, as the table's owner, run CREATE POLICY "
            f"doctor_migration_all ON public.doctors FOR ALL TO {role} USING (true) WITH CHECK "
            "(true)") in text, text
    assert "ALTER ROLE" not in text  # only a superuser may grant BYPASSRLS
    assert f"rows of public.profiles from role {role}" in text
    with small_dbs.target() as conn:
        other = new_role(conn)
        conn.execute(sql.SQL("CREATE POLICY other ON public.doctors TO {} USING (true)").format(
            sql.Identifier(other)))
        conn.execute("CREATE POLICY readers ON public.profiles FOR SELECT TO PUBLIC "
                     "USING (true)")
        conn.execute(sql.SQL("CREATE POLICY reads ON public.doctors FOR SELECT TO {} "
                             "USING (true)").format(sql.Identifier(role)))
    text = problem(check_target, url)
    assert "lets it INSERT, UPDATE or DELETE every row)" in text, text
    assert "public.profiles" not in text
    with small_dbs.target() as conn:
        conn.execute(sql.SQL("CREATE POLICY writes ON public.doctors TO {} USING (true) "
                             "WITH CHECK (true)").format(sql.Identifier(role)))
    check_target(url)


def test_forced_row_level_security_catches_the_owner(small_dbs):
    with small_dbs.target() as conn:
        role = new_role(conn)
        conn.execute(sql.SQL("ALTER TABLE public.doctors OWNER TO {}").format(
            sql.Identifier(role)))
        grant(conn, "SELECT", "public.profiles", role)
        see_references(conn, role)
        conn.execute("CREATE POLICY readers ON public.profiles FOR SELECT USING (true)")
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(role)))
    url = with_user(small_dbs.target_url, role)
    check_target(url)  # the owner skips row level security...
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors FORCE ROW LEVEL SECURITY")
    text = problem(check_target, url)  # ...unless it is forced
    assert ("(it is forced, even for the owner, and no policy for it or PUBLIC that is USING "
            "(true) WITH CHECK (true) lets it SELECT, INSERT, UPDATE or DELETE every row): "
            "connect as a role with BYPASSRLS (on Supabase: postgres), or, as the table's "
            f"owner, run CREATE POLICY doctor_migration_all ON public.doctors FOR ALL TO {role} "
            "USING (true) WITH CHECK (true)") in text, text


def test_policies_must_show_every_row_and_restrictive_ones_are_named(small_dbs):
    role = target_role(small_dbs)
    url = with_user(small_dbs.target_url, role)
    with small_dbs.target() as conn:
        conn.execute("CREATE POLICY readers ON public.profiles FOR SELECT USING (true)")
        # Reads every row, but its WITH CHECK may refuse rows the load writes.
        conn.execute(sql.SQL("CREATE POLICY mine ON public.doctors TO {} USING (true) "
                             "WITH CHECK (specialty IS NOT NULL)").format(sql.Identifier(role)))
    assert "lets it INSERT or UPDATE every row)" in problem(check_target, url)
    with small_dbs.target() as conn:
        conn.execute(sql.SQL("CREATE POLICY writes ON public.doctors FOR INSERT TO {} "
                             "WITH CHECK (true)").format(sql.Identifier(role)))
    assert "lets it UPDATE every row)" in problem(check_target, url)
    with small_dbs.target() as conn:
        conn.execute(sql.SQL("CREATE POLICY updates ON public.doctors FOR UPDATE TO {} "
                             "USING (true)").format(sql.Identifier(role)))
        conn.execute("CREATE POLICY \"Not Old\" ON public.doctors AS RESTRICTIVE FOR SELECT "
                     "USING (created_at > '2024-01-01')")
        conn.execute("CREATE POLICY harmless ON public.doctors AS RESTRICTIVE USING (true)")
    assert problem(check_target, url) == (
        f"{PREFIX}row level security may hide rows of public.doctors from role {role} (it is "
        f"enabled, {role} neither owns the table nor has BYPASSRLS, and the restrictive policy "
        "\"Not Old\" applies to it): connect as a role with BYPASSRLS (on Supabase: postgres) "
        "or as the table's owner, or, as the table's owner, make policy \"Not Old\" not apply "
        f"to {role}")
    with small_dbs.target() as conn:
        conn.execute(sql.SQL("ALTER POLICY \"Not Old\" ON public.doctors TO {}").format(
            sql.Identifier(new_role(conn))))
    check_target(url)


def test_missing_column_is_named(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors DROP COLUMN npi_number")
    assert problem(check_target, small_dbs.target_url) == \
        f"{PREFIX}public.doctors has no column npi_number"


def test_columns_of_the_wrong_type_are_named(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ALTER COLUMN specialties DROP DEFAULT, "
                     "ALTER COLUMN specialties TYPE text[] USING '{}'")
        conn.execute("ALTER TABLE public.doctors ADD COLUMN ward text NOT NULL DEFAULT 'a'")
        conn.execute("ALTER TABLE public.doctors ALTER COLUMN ward DROP DEFAULT")
        conn.execute("ALTER TABLE public.profiles DROP COLUMN email")
    assert problem(check_target, small_dbs.target_url) == (
        f"{PREFIX}public.doctors.specialties is text[], not jsonb; public.doctors.ward is "
        "NOT NULL without a default, and the migration does not set it; public.profiles has "
        "no column email")


def test_status_enum_without_active_is_named(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("ALTER TYPE public.doctor_status RENAME VALUE 'active' TO 'enabled'")
    assert problem(check_target, small_dbs.target_url) == (
        f"{PREFIX}public.doctors.status is doctor_status, which has no value 'active' "
        "(ALTER TYPE doctor_status ADD VALUE 'active')")


def test_status_as_text_is_fine(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ALTER COLUMN status DROP DEFAULT, "
                     "ALTER COLUMN status TYPE text")
    check_target(small_dbs.target_url)


def test_missing_profiles_table_is_named(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("DROP TABLE public.profiles CASCADE")
    assert problem(check_target, small_dbs.target_url) == \
        f"{PREFIX}the target has no table public.profiles"


def test_ledger_needs_create_or_its_grants(small_dbs):
    role = target_role(small_dbs, "BYPASSRLS")
    url = with_user(small_dbs.target_url, role)
    with small_dbs.target() as conn:
        conn.execute(sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(
            sql.Identifier(conn.info.dbname), sql.Identifier(role)))
        dbname = conn.info.dbname
    assert problem(check_target, url) == (
        f"{PREFIX}role {role} may not create the run ledger (schema doctor_migration, made on "
        f"the first run): as postgres, run GRANT {role} TO postgres, then CREATE SCHEMA "
        f"doctor_migration AUTHORIZATION {role} (as sql/create_doctor_migrator.sql does), or "
        f"GRANT CREATE ON DATABASE {dbname} TO {role}")
    with small_dbs.target() as conn:
        conn.execute("CREATE SCHEMA doctor_migration")
    # CREATE on the database would not do: the schema is there, its tables are not.
    assert problem(check_target, url) == (
        f"{PREFIX}role {role} may not create the tool's tables (the run ledger, the stage) "
        "in schema doctor_migration: as the schema's owner, run GRANT USAGE, CREATE ON SCHEMA "
        f"doctor_migration TO {role}")
    with small_dbs.target() as conn:
        conn.execute(db.load_sql("create_tool_schema"))
        conn.execute(db.load_sql("create_ledger"))
    assert problem(check_target, url) == (
        f"{PREFIX}role {role} may not use schema doctor_migration: GRANT USAGE ON SCHEMA "
        f"doctor_migration TO {role}; role {role} may not SELECT, INSERT or UPDATE "
        f"doctor_migration.runs: GRANT SELECT, INSERT, UPDATE ON doctor_migration.runs TO "
        f"{role}; role {role} may not SELECT, INSERT or UPDATE doctor_migration.row_changes: "
        f"GRANT SELECT, INSERT, UPDATE ON doctor_migration.row_changes TO {role}; role {role} "
        f"may not SELECT or INSERT doctor_migration.run_digests: GRANT SELECT, INSERT ON "
        f"doctor_migration.run_digests TO {role}; role {role} "
        "may not create the tool's tables (the run ledger, the stage) in schema "
        "doctor_migration: as the schema's owner, run GRANT USAGE, CREATE ON SCHEMA "
        f"doctor_migration TO {role}")


def test_source_missing_dispatch_patient_is_named(small_dbs):
    with small_dbs.source() as conn:
        conn.execute("DROP TABLE dispatch_patient")
    assert problem(check_source, small_dbs.source_url) == (
        "the source is not ready for the migration, nothing was changed: the source has no "
        "table dispatch_patient in the search_path of role legacy_reader (step 1.1 of the "
        "plan reads it)")


def test_source_grants_and_columns_are_named(small_dbs):
    with small_dbs.source() as conn:
        reader = new_role(conn)
        for table in ("auth_user", "dispatch_usersetting"):
            grant(conn, "SELECT", table, reader)
        # column grants are enough
        conn.execute(sql.SQL("GRANT SELECT (doctor_id, archived) ON dispatch_patient TO {}")
                     .format(sql.Identifier(reader)))
        conn.execute("ALTER TABLE auth_user RENAME COLUMN last_login TO last_seen")
    assert problem(check_source, with_user(small_dbs.source_url, reader)) == (
        "the source is not ready for the migration, nothing was changed: the source table "
        "public.auth_user has no column last_login (step 1.1 of the plan reads it); role "
        f"{reader} may not SELECT public.dispatch_office_doctors: GRANT SELECT ON "
        f"public.dispatch_office_doctors TO {reader}")


def test_read_only_target_is_named(small_dbs):
    with small_dbs.target() as conn:
        dbname = conn.info.dbname
        conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(
            sql.Identifier(dbname)))
    assert problem(check_target, small_dbs.target_url) == (
        f"{PREFIX}transactions of role postgres on {dbname} are read-only by default "
        "(default_transaction_read_only is on; Supabase turns it on when the disk is 95% full, "
        "and off once there is room again): make room, or, in one session, run SET "
        "default_transaction_read_only = off, then ALTER ROLE postgres IN DATABASE "
        f"{dbname} SET default_transaction_read_only = off")
