"""Tests where exactly one thing differs, for every member of a family (issue 22): every mapped
column, every action of the ledger for every rollback refusal, every ON DELETE action of a table
that references doctors, every rule of step 3.3 after the load.

They share one migrated world: its first run inserted, updated and deleted rows. Each test works
in one transaction of the tool's role that is rolled back at the end (the load and the rollback
nest in it as savepoints), so none of them changes what the next one sees."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql

from doctor_migration.demo.world import generate_world
from doctor_migration.migration import db, ledger, reconcile, seal, stage
from doctor_migration.migration.errors import StopMigration
from doctor_migration.migration.gates import ANOTHER_DOCTOR_ADVICE
from doctor_migration.migration.load import LoadResult, load_doctors
from doctor_migration.migration.mapping import MAPPED_COLUMNS
from doctor_migration_tests.helpers import (
    RUN,
    Databases,
    gated,
    load,
    lone_clean_ids,
    make_databases,
    mapped,
)
from doctor_migration_tests.test_rollback import stale_target

SECOND = "second-run"


@dataclass(frozen=True)
class World:
    """The shared world after its first run (RUN): the rows it inserted, updated, deleted."""

    dbs: Databases
    stage_id: str
    sealed: seal.Seal
    rows: dict[str, tuple]  # action: (doctors.id, legacy user id) of one row of the run

    def uid(self, action: str) -> int:
        return self.rows[action][1]

    def doctor_id(self, action: str):
        return self.rows[action][0]


@pytest.fixture(scope="module")
def world(servers) -> World:
    dbs = make_databases(servers, generate_world(40, seed=11))
    stale_target(dbs)  # rows of users 2 and 3 to update (2 referenced), one no longer clean
    sid = "shared-stage"
    sealed = mapped(dbs, sid, gated(dbs, sid))
    first = load(dbs, sid, sealed)
    assert (first.inserted, first.updated, first.deleted, first.unchanged) == (38, 2, 1, 0)
    inserted = lone_clean_ids(dbs.world)[-1]
    with dbs.target() as conn:
        rows = {action: conn.execute(
            "SELECT doctor_id, legacy_user_id FROM doctor_migration.row_changes "
            "WHERE run_id = %s AND action = %s AND legacy_user_id = %s",
            (RUN, action, uid)).fetchone()
            for action, uid in [("insert", inserted), ("update", 3),
                                ("delete", dbs.world.by_kind("inactive")[0].id)]}
    assert all(rows.values()), rows
    return World(dbs, sid, sealed, rows)


@contextmanager
def tool(world: World) -> Iterator[psycopg.Connection]:
    """The tool's connection (Supabase's postgres) in a transaction that is rolled back."""
    with db.connect(world.dbs.target_url, "target") as conn, \
            conn.transaction(force_rollback=True):
        yield conn


def second_load(conn: psycopg.Connection, world: World) -> LoadResult:
    """A second run's load, as a savepoint of the test's transaction; the temporary tables its
    own transaction would drop at its end are dropped."""
    result = load_doctors(conn, world.stage_id, run_id=SECOND, sealed=world.sealed,
                          expected_count=40)
    conn.execute("DISCARD TEMP")
    return result


def staged_comparison(conn: psycopg.Connection, world: World) -> reconcile.Reconciliation:
    """The reconciliation as the load takes it before its COMMIT: the target against the
    world's doctor_rows typed like doctors, in a savepoint that is rolled back."""
    with conn.transaction(force_rollback=True):
        stage.stage_doctor_rows(conn, world.stage_id)
        found = reconcile.compare_staged(conn)
    conn.execute("DISCARD TEMP")
    return found


def counts(result: LoadResult) -> tuple[int, int, int, int]:
    return result.inserted, result.updated, result.deleted, result.unchanged


# A value each mapped column never gets from the mapping, as a SQL expression (the old value is
# `d`'s own column where the new one derives from it).
EDITS = {
    "profile_id": "(SELECT id FROM public.profiles WHERE profile_type = 'admin')",
    "doctor_id": "doctor_id + 1000000",
    "doctor_number": "'DOC-edited'",
    "license_number": "'LIC-1'",
    "npi_number": "'NPI-1'",
    "specialty": "'Orthodontics'",
    "board_certifications": "'{\"edited\": true}'",
    "education": "'{\"edited\": true}'",
    "years_experience": "years_experience + 1",
    "primary_office_id": "'00000000-0000-0000-0000-0000000000aa'",
    "practice_type": "'Group Practice'",
    "status": "'suspended'",
    "is_accepting_patients": "false",
    "max_patient_load": "7",
    "bio": "'edited by staff'",
    "specialties": "'[\"Orthodontics\"]'",
    "languages_spoken": "'[\"French\"]'",
    "professional_memberships": "'{\"edited\": true}'",
    "consultation_duration_minutes": "45",
    "follow_up_duration_minutes": "20",
    "working_hours": "'{\"mon\": \"9-5\"}'",
    "consultation_fee": "120.50",
    "accepts_insurance": "false",
    "payment_terms": "'{\"net\": 30}'",
    "licensed_since": "licensed_since - 1",
    "joined_practice_at": "joined_practice_at - interval '1 second'",
    "legacy_doctor_id": "legacy_doctor_id + 1000",
    "migration_metadata": "jsonb_set(migration_metadata, '{source_patient_count}', '12345')",
}


def test_every_mapped_column_but_the_key_has_an_edit():
    assert set(EDITS) == set(MAPPED_COLUMNS) - {"legacy_user_id"}


def value(conn: psycopg.Connection, column: str, uid: int) -> str:
    """The column of the user's doctors row as text (migration_date left out: it is the day of
    the run that wrote the row)."""
    expression = (sql.SQL("(migration_metadata - 'migration_date')") if column ==
                  "migration_metadata" else sql.Identifier(column))
    return conn.execute(sql.SQL("SELECT {}::text FROM public.doctors WHERE legacy_user_id = %s")
                        .format(expression), (uid,)).fetchone()[0]


@pytest.mark.parametrize("column", sorted(EDITS))
def test_a_row_that_differs_in_one_mapped_column(world, column):
    """Staff edited one column of one migrated row: the reconciliation names that column, the
    next load classifies the row as updated in that column only and writes the mapping's value
    back, and the rollback of that load restores the staff's value."""
    uid = world.uid("insert")
    with tool(world) as conn:
        mapped_value = value(conn, column, uid)
        conn.execute(sql.SQL("UPDATE public.doctors SET {} = {} WHERE legacy_user_id = %s").format(
            sql.Identifier(column), sql.SQL(EDITS[column])), (uid,))
        edited = value(conn, column, uid)
        assert edited != mapped_value

        found = staged_comparison(conn, world)
        assert (found.mismatches, found.missing, found.unexpected) == ({uid: [column]}, [], [])

        result = second_load(conn, world)
        assert counts(result) == (0, 1, 0, 39)
        assert result.changed_columns == [{"column": column, "doctors": 1, "examples": [uid]}]
        assert value(conn, column, uid) == mapped_value
        assert staged_comparison(conn, world).passed

        undone = ledger.rollback(conn, SECOND)
        assert (undone.removed, undone.restored, undone.recreated) == (0, 1, 0)
        assert value(conn, column, uid) == edited


def test_a_row_whose_legacy_user_id_differs_is_named_and_stops_the_load(world):
    """legacy_user_id is the key: a row edited to another legacy id is missing for its user and
    not clean for the other; on the user's profile, the load stops before any write."""
    uid, did = world.uid("insert"), world.doctor_id("insert")
    with tool(world) as conn:
        conn.execute("UPDATE public.doctors SET legacy_user_id = 424242 WHERE id = %s", (did,))
        found = staged_comparison(conn, world)
        assert (found.mismatches, found.missing, found.unexpected) == ({}, [uid], [424242])
        profile = conn.execute("SELECT profile_id FROM public.doctors WHERE id = %s",
                               (did,)).fetchone()[0]
        before = image(conn)
        with pytest.raises(StopMigration) as stopped:
            second_load(conn, world)
        assert str(stopped.value) == (
            f"1 clean doctors' profiles already have another doctors row: legacy user {uid}: "
            f"profile {profile} already has doctors row {did} (migrated for legacy user "
            f"424242); {ANOTHER_DOCTOR_ADVICE}")
        assert image(conn) == before


# What staff (or a later run) did after the first run to its row of one action, one thing at
# a time.

def edit(conn: psycopg.Connection, world: World, action: str) -> None:
    conn.execute("UPDATE public.doctors SET bio = 'edited by staff' WHERE id = %s",
                 (world.doctor_id(action),))


def remove(conn: psycopg.Connection, world: World, action: str) -> None:
    conn.execute("DELETE FROM public.doctors WHERE id = %s", (world.doctor_id(action),))


def recreate(conn: psycopg.Connection, world: World, action: str) -> None:
    """The deleted row back, with its old id."""
    conn.execute("INSERT INTO public.doctors (id, profile_id, legacy_user_id) SELECT %s, id, "
                 "legacy_user_id FROM public.profiles WHERE legacy_user_id = %s "
                 "AND profile_type = 'doctor'", (world.doctor_id(action), world.uid(action)))


def another_row(conn: psycopg.Connection, world: World, action: str) -> None:
    """A second doctors row for the row's legacy user, made by hand (no run's)."""
    conn.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) SELECT id, "
                 "legacy_user_id FROM public.profiles WHERE legacy_user_id = %s "
                 "AND profile_type = 'doctor'", (world.uid(action),))


def later_run(conn: psycopg.Connection, world: World, action: str) -> None:
    """A later run that writes the row again (a deleted one: a row of its legacy user)."""
    (another_row if action == "delete" else edit)(conn, world, action)
    assert counts(second_load(conn, world))[:3] == (
        (0, 0, 1) if action == "delete" else (0, 1, 0))


def reference(conn: psycopg.Connection, world: World, action: str) -> None:
    conn.execute("INSERT INTO public.appointments (doctor_id) VALUES (%s)",
                 (world.doctor_id(action),))


def refusal(world: World, case: str, action: str) -> str | None:
    """The sentence of the rollback of the first run after `case` happened to the row of
    `action`; None where the rollback must go ahead."""
    did, uid = world.rows[action]
    changed = (f"run {RUN} cannot be rolled back exactly: 1 of its rows changed since: doctors "
               f"row {did} (legacy user {uid}, {ledger.DONE[action]} by the run): ")
    return {
        "edited": changed + "changed since the run (column bio). Nothing was changed",
        "removed": changed + "no longer exists. Nothing was changed",
        "recreated": changed + "exists again. Nothing was changed",
        "later run": f"run {RUN} cannot be rolled back: later runs changed the same doctors and "
                     f"are not rolled back: {SECOND} (1 rows); roll those back first (newest "
                     "first). Nothing was changed",
        "referenced": None if action == "update" else (
            f"run {RUN} cannot be rolled back: rows it inserted are now referenced: "
            f"public.appointments has 1 row(s) referencing doctors row {did} (legacy user "
            f"{uid}). Nothing was changed"),
        "another row": None if action == "insert" else (
            f"run {RUN} cannot be rolled back: it would leave more than one migrated doctors "
            f"row for legacy user {uid} (2 rows), since a row was created for them outside the "
            "ledger's runs; remove that row first. Nothing was changed"),
    }[case]


CASES = {"edited": edit, "removed": remove, "recreated": recreate, "later run": later_run,
         "referenced": reference, "another row": another_row}
# Each case, for each action of the ledger it can happen to (a deleted row cannot be edited,
# removed or referenced, only come back; only a deleted row can come back with its id).
MATRIX = [("edited", "insert"), ("edited", "update"), ("removed", "insert"),
          ("removed", "update"), ("recreated", "delete"),
          ("later run", "insert"), ("later run", "update"), ("later run", "delete"),
          ("referenced", "insert"), ("referenced", "update"),
          ("another row", "insert"), ("another row", "update"), ("another row", "delete")]


def image(conn: psycopg.Connection) -> list[tuple]:
    """Every doctors row, every column but updated_at (the target's trigger sets it)."""
    return conn.execute("SELECT to_jsonb(d) - 'updated_at' FROM public.doctors AS d "
                        "ORDER BY id").fetchall()


@pytest.mark.parametrize(("case", "action"), MATRIX)
def test_a_rollback_refuses_for_every_action_of_the_ledger(world, case, action):
    """The first run's rollback after one thing happened to one of its rows: refused with the
    sentence, nothing changed; or, where that loses nobody's work, done."""
    sentence = refusal(world, case, action)
    with tool(world) as conn:
        CASES[case](conn, world, action)
        before = image(conn)
        if sentence is None:
            undone = ledger.rollback(conn, RUN)
            assert (undone.removed, undone.restored, undone.recreated) == (38, 2, 1)
            assert conn.execute("SELECT count(*) FROM public.doctors WHERE legacy_user_id = %s",
                                (world.uid(action),)).fetchone()[0] == 1
            return
        with pytest.raises(ledger.RollbackRefused) as refused:
            ledger.rollback(conn, RUN)
        assert str(refused.value) == sentence
        assert image(conn) == before


ON_DELETE = ["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]


@pytest.mark.parametrize("on_delete", ON_DELETE)
@pytest.mark.parametrize("deleting", ["load", "rollback"])
def test_a_referenced_row_is_never_deleted_whatever_its_foreign_key_does(world, deleting,
                                                                        on_delete):
    """A table of the target's own references a row the load would delete (a migrated row whose
    user is no longer clean) or the rollback would remove (a row the run inserted): refused
    before any write, whether the foreign key would block the delete, cascade it or null it."""
    with tool(world) as conn:
        conn.execute(sql.SQL(
            "CREATE TABLE public.referrals (id integer PRIMARY KEY, "
            "doctor_id uuid REFERENCES public.doctors (id) ON DELETE {})").format(
                sql.SQL(on_delete)))
        if deleting == "load":
            another_row(conn, world, "delete")
            uid = world.uid("delete")
        else:
            uid = world.uid("insert")
        did = conn.execute("SELECT id FROM public.doctors WHERE legacy_user_id = %s",
                           (uid,)).fetchone()[0]
        conn.execute("INSERT INTO public.referrals VALUES (1, %s)", (did,))
        named = f"public.referrals has 1 row(s) referencing doctors row {did} (legacy user {uid})"
        before = image(conn)
        if deleting == "load":
            with pytest.raises(StopMigration) as stopped:
                second_load(conn, world)
            assert str(stopped.value) == ("migrated doctors that are no longer clean are still "
                                          f"referenced, so they cannot be deleted: {named}")
        else:
            with pytest.raises(ledger.RollbackRefused) as refused:
                ledger.rollback(conn, RUN)
            assert str(refused.value) == (f"run {RUN} cannot be rolled back: rows it inserted "
                                          f"are now referenced: {named}. Nothing was changed")
        assert conn.execute("SELECT id, doctor_id FROM public.referrals").fetchall() == [(1, did)]
        assert image(conn) == before


# An e-mail per rule of step 3.3 that matches that rule only.
STEP_3_3_EMAILS = {
    "test": "qa.TEST@smile.example.com",
    "demo": "Dr.DEMO@smile.example.com",
    "internal_1": "ops@brius.com",
    "internal_2": "lab@mechanodontics.com",
}


@pytest.mark.parametrize("rule", list(STEP_3_3_EMAILS))
def test_step_3_3_after_the_load_rolls_back_on_every_rule(world, rule):
    """A profile renamed to a test, demo or internal e-mail after the gates: step 3.3, checked
    inside the load's transaction, stops it before the commit."""
    uid = world.uid("insert")
    with tool(world) as conn:
        conn.execute("UPDATE public.profiles SET email = %s WHERE legacy_user_id = %s "
                     "AND profile_type = 'doctor'", (STEP_3_3_EMAILS[rule], uid))
        before = image(conn)
        with pytest.raises(StopMigration) as stopped:
            second_load(conn, world)
        assert str(stopped.value) == (
            "validation failed before commit, rolled back: step 3.3 no_test_accounts_migrated: "
            f"1 migrated doctors with a test/demo/internal e-mail: legacy user {uid}")
        assert image(conn) == before
