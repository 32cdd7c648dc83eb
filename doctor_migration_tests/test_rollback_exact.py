"""A rollback restores every value byte for byte, whatever the session settings and the shape
of doctors, or refuses before changing anything; runs whose rows a rollback cannot restore
say so (issue 15)."""

import psycopg
import pytest

from doctor_migration import cli
from doctor_migration.runner import roll_back
from doctor_migration_tests.helpers import lone_clean_ids, migrate, snapshot
from doctor_migration_tests.test_rollback import stale_target

# The settings that make every type's text output exact and unambiguous.
EXACT = ("SET extra_float_digits = 3; SET DateStyle = ISO; SET IntervalStyle = postgres; "
         "SET TimeZone = 'UTC'; SET bytea_output = hex")


def image(url: str, leave_out: tuple[str, ...] = ("updated_at",)) -> bytes:
    """Every doctors row, every column but `leave_out`, as text, byte for byte, by id."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(EXACT)
        names = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'public.doctors'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum") if r[0] not in leave_out]
        cols = psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(n) for n in names)
        query = psycopg.sql.SQL("COPY (SELECT {} FROM public.doctors ORDER BY id) TO STDOUT"
                                ).format(cols)
        with conn.cursor().copy(query) as copy:
            return b"".join(bytes(b) for b in copy)


def rows_of(url: str, legacy_user_id: int) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM public.doctors WHERE legacy_user_id = %s",
                            (legacy_user_id,)).fetchone()[0]


def run_and_roll_back(url: str, before: bytes) -> None:
    """A run, then its rollback: both succeed, and doctors is `before` again, byte for byte."""
    run = migrate(40)
    assert run.success, run.failures
    undo = roll_back(run.run_id, progress=False)
    assert undo.success, undo.failures
    assert image(url) == before


def refused(run_id: str, sentence: str, url: str) -> None:
    before = snapshot(url)
    outcome = roll_back(run_id, progress=False)
    assert outcome.exit_code == 1, outcome.failures
    assert outcome.failures == [f"stopped at rollback_run: {sentence}"]
    assert snapshot(url) == before


def test_rollback_refused_when_a_later_run_gave_the_legacy_user_a_new_row(small_dbs):
    migrate(40)
    gone = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
    deleting = migrate(39)
    assert "| deleted (no longer clean) | 1 |" in deleting.report
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = true WHERE id = %s", (gone,))
    inserting = migrate(40)
    assert "| inserted | 1 |" in inserting.report
    refused(deleting.run_id,
            f"run {deleting.run_id} cannot be rolled back: later runs changed the same doctors "
            f"and are not rolled back: {inserting.run_id} (1 rows); roll those back first "
            "(newest first). Nothing was changed", small_dbs.target_url)
    assert rows_of(small_dbs.target_url, gone) == 1


def test_rollback_never_leaves_two_rows_for_one_legacy_user(small_dbs):
    migrate(40)
    gone = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
    deleting = migrate(39)
    with small_dbs.target() as conn:  # by hand, not by a run: no ledger entry says so
        conn.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) SELECT id, "
                     "legacy_user_id FROM public.profiles WHERE legacy_user_id = %s "
                     "AND profile_type = 'doctor'", (gone,))
    refused(deleting.run_id,
            f"run {deleting.run_id} cannot be rolled back: it would leave more than one "
            f"migrated doctors row for legacy user {gone} (2 rows), since a row was created for "
            "them outside the ledger's runs; remove that row first. Nothing was changed",
            small_dbs.target_url)


def odd_values(dbs) -> None:
    """Stale migrated rows (updated and deleted by the run) holding values whose text a lossy
    round trip changes: float8 last bits, a json with duplicate keys, intervals, bytea."""
    stale_target(dbs)
    with dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ADD COLUMN score float8, ADD COLUMN raw json, "
                     "ADD COLUMN span interval, ADD COLUMN blob bytea, ADD COLUMN seen timestamptz")
        conn.execute("UPDATE public.doctors SET score = 0.1::float8 + 0.2::float8, "
                     "raw = '{\"b\":1,\"a\":2,\"a\":3}', span = '1 day 02:03:04.5', "
                     "blob = '\\x00ff', seen = '2021-03-04 05:06:07.123456+00'")


@pytest.mark.parametrize("setting", ["extra_float_digits = 0", "DateStyle = 'SQL, DMY'",
                                     "IntervalStyle = 'sql_standard'", "bytea_output = escape"])
def test_rollback_restores_every_value_byte_for_byte(small_dbs, setting):
    odd_values(small_dbs)
    before = image(small_dbs.target_url)
    with small_dbs.target() as conn:
        db = conn.info.dbname
        conn.execute(psycopg.sql.SQL("ALTER DATABASE {} SET " + setting).format(
            psycopg.sql.Identifier(db)))
    run_and_roll_back(small_dbs.target_url, before)


def test_history_explain_and_rollback_with_a_non_iso_datestyle(small_dbs, capsys):
    run = migrate(40)
    for conn in (small_dbs.source(), small_dbs.target()):
        with conn:
            conn.execute(psycopg.sql.SQL("ALTER DATABASE {} SET DateStyle = 'SQL, DMY'").format(
                psycopg.sql.Identifier(conn.info.dbname)))
    assert cli.main(["history"]) == 0
    assert run.run_id in capsys.readouterr().out
    assert cli.main(["explain", "5"]) == 0
    assert "legacy user 5: migrated" in capsys.readouterr().out
    assert cli.main(["rollback", run.run_id]) == 0


def test_identity_and_generated_columns_are_restored(small_dbs):
    stale_target(small_dbs)
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors "
                     "ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY, "
                     "ADD COLUMN twice integer GENERATED ALWAYS AS (years_experience * 2) STORED")
    before = image(small_dbs.target_url)
    run_and_roll_back(small_dbs.target_url, before)


def test_columns_a_trigger_rewrites_are_named_and_the_rest_restored(small_dbs, capsys):
    stale_target(small_dbs)
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ADD COLUMN version integer NOT NULL DEFAULT 1")
        conn.execute("CREATE FUNCTION public.bump_version() RETURNS trigger LANGUAGE plpgsql "
                     "AS $$ BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER doctors_bump_version BEFORE UPDATE ON public.doctors "
                     "FOR EACH ROW EXECUTE FUNCTION public.bump_version()")
    before = image(small_dbs.target_url, ("updated_at", "version"))
    warning = ("A rollback of this run cannot restore the columns the target's own triggers "
               "rewrite when a row is written: updated_at, version.")
    assert warning in migrate(40, dry_run=True).report
    run = migrate(40)
    assert run.success, run.failures
    assert warning in run.report
    assert cli.main(["rollback", run.run_id]) == 0
    out = capsys.readouterr().out
    assert (f"Run {run.run_id} rolled back: the doctors it touched are as they were before it, "
            "except columns the target's own triggers rewrite when a row is written: "
            "updated_at, version") in out
    assert image(small_dbs.target_url, ("updated_at", "version")) == before


def test_a_column_added_after_the_run_keeps_its_values(small_dbs, capsys):
    stale_target(small_dbs)
    before = image(small_dbs.target_url)
    run = migrate(40)
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ADD COLUMN late text DEFAULT 'default'")
        conn.execute("UPDATE public.doctors SET late = 'set after the run'")
        rows = conn.execute("SELECT count(*) FROM public.doctors").fetchone()[0]
    assert cli.main(["rollback", run.run_id]) == 0
    out = capsys.readouterr().out
    assert (f"Run {run.run_id} rolled back: the doctors it touched are as they were before it, "
            "except columns the target's own triggers rewrite when a row is written: "
            "updated_at; column late was added after the run: restored rows keep its value, "
            "recreated rows get its default") in out
    assert image(small_dbs.target_url, ("updated_at", "late")) == before
    with small_dbs.target() as conn:  # 38 inserted rows removed, 1 deleted row recreated
        assert dict(conn.execute("SELECT late, count(*) FROM public.doctors "
                                 "GROUP BY late").fetchall()) == {
            "set after the run": rows - 38, "default": 1}


def test_a_foreign_runs_table_is_refused_before_any_write(small_dbs, capsys):
    with small_dbs.target() as conn:
        conn.execute("CREATE SCHEMA doctor_migration")
        conn.execute("CREATE TABLE doctor_migration.runs (id serial PRIMARY KEY, note text)")
    before = image(small_dbs.target_url, ())
    sentence = ("schema doctor_migration is not this tool's run ledger (doctor_migration.runs "
                "has no column run_id, started_at, finished_at, expected_count, clean_count, "
                "inserted, updated, deleted, unchanged, db_user, os_user, tool_version, "
                "rolled_back_at, rolled_back_by; doctor_migration.row_changes is missing): "
                "rename or drop that schema, then run again")
    run = migrate(40)
    assert run.exit_code == 2
    assert run.failures == [("error at profile_coverage: the target is not ready for the "
                             f"migration, nothing was changed: {sentence}")]
    assert image(small_dbs.target_url, ()) == before
    with small_dbs.target() as conn:
        assert conn.execute("SELECT count(*) FROM doctor_migration.runs").fetchone()[0] == 0
        assert conn.execute("SELECT to_regclass('doctor_migration.row_changes')"
                            ).fetchone()[0] is None
    capsys.readouterr()
    assert cli.main(["history"]) == 2
    assert capsys.readouterr().err == f"doctor-migration: error: {sentence}; nothing was changed\n"
    assert cli.main(["rollback", "--last"]) == 2


# The ledger as the version before ledger_format made it (to_jsonb images).
LEDGER_V1 = """
CREATE SCHEMA doctor_migration;
CREATE TABLE doctor_migration.runs (
    run_id text PRIMARY KEY, started_at timestamptz NOT NULL, finished_at timestamptz,
    expected_count integer, clean_count integer, inserted integer NOT NULL DEFAULT 0,
    updated integer NOT NULL DEFAULT 0, deleted integer NOT NULL DEFAULT 0,
    unchanged integer NOT NULL DEFAULT 0, db_user text NOT NULL DEFAULT current_user,
    os_user text, tool_version text, rolled_back_at timestamptz, rolled_back_by text);
CREATE TABLE doctor_migration.row_changes (
    run_id text NOT NULL REFERENCES doctor_migration.runs (run_id), doctor_id uuid NOT NULL,
    legacy_user_id bigint,
    action text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    changed_columns text[], before jsonb, after jsonb, PRIMARY KEY (run_id, doctor_id));
"""


def test_a_run_recorded_by_the_previous_version_is_rolled_back_exactly(small_dbs):
    stale_target(small_dbs)
    inactive = small_dbs.world.by_kind("inactive")[0].id
    before = image(small_dbs.target_url)
    # what the previous version's load wrote, as the role the tool connects as
    with psycopg.connect(small_dbs.target_url, autocommit=True) as conn:
        conn.execute(LEDGER_V1)
        conn.execute("INSERT INTO doctor_migration.runs (run_id, started_at, inserted, updated, "
                     "deleted) VALUES ('v1', now(), 1, 1, 1)")
        conn.execute("INSERT INTO doctor_migration.row_changes (run_id, doctor_id, "
                     "legacy_user_id, action, before) SELECT 'v1', id, legacy_user_id, "
                     "CASE legacy_user_id WHEN 2 THEN 'update' ELSE 'delete' END, to_jsonb(d) "
                     "FROM public.doctors AS d WHERE legacy_user_id IN (2, %s)", (inactive,))
        conn.execute("UPDATE public.doctors SET bio = 'migrated bio' WHERE legacy_user_id = 2")
        conn.execute("DELETE FROM public.doctors WHERE legacy_user_id = %s", (inactive,))
        conn.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) SELECT id, "
                     "legacy_user_id FROM public.profiles WHERE legacy_user_id = 5 "
                     "AND profile_type = 'doctor'")
        conn.execute("INSERT INTO doctor_migration.row_changes (run_id, doctor_id, "
                     "legacy_user_id, action) SELECT 'v1', id, legacy_user_id, 'insert' "
                     "FROM public.doctors WHERE legacy_user_id = 5")
        conn.execute("UPDATE doctor_migration.row_changes AS r SET after = to_jsonb(d) "
                     "FROM public.doctors AS d WHERE d.id = r.doctor_id")
    undo = roll_back("v1", progress=False)
    assert undo.success, undo.failures
    assert image(small_dbs.target_url) == before
    run = migrate(40)  # the new version adds ledger_format; its runs are format 2
    assert run.success, run.failures
    with small_dbs.target() as conn:
        assert conn.execute("SELECT run_id, ledger_format FROM doctor_migration.runs "
                            "ORDER BY started_at").fetchall() == [("v1", 1), (run.run_id, 2)]
    assert roll_back(run.run_id, progress=False).success
    assert image(small_dbs.target_url) == before


def test_the_trigger_probe_never_writes_a_native_doctor(small_dbs):
    """The probe that learns what triggers rewrite writes (and rolls back) migrated rows only:
    a trigger with a side effect no rollback undoes (nextval) sees no native doctor written."""
    with small_dbs.target() as conn:
        conn.execute("CREATE SEQUENCE public.native_writes")
        conn.execute(
            "CREATE FUNCTION public.count_native_writes() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM nextval('public.native_writes'); "
            "RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END; END $$")
        conn.execute("CREATE TRIGGER count_native_writes BEFORE UPDATE OR DELETE ON "
                     "public.doctors FOR EACH ROW WHEN (OLD.legacy_user_id IS NULL) "
                     "EXECUTE FUNCTION public.count_native_writes()")
    first = migrate(40)  # no migrated row yet: nothing to probe
    assert first.success, first.failures
    assert migrate(40, dry_run=True).success  # probes a migrated row
    assert roll_back(first.run_id, progress=False).success  # probes a row of the run
    with small_dbs.target() as conn:
        assert conn.execute("SELECT is_called FROM public.native_writes").fetchone() == (False,)
