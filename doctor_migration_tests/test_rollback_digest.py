"""A run keeps, of each row it inserts, a digest rather than an after-image (issue 20): its
rollback removes the row only while the row is exactly as the run left it, and a refusal still
names the row, and its changed columns while the run's stage holds the row's mapping. Runs
recorded with after-images for their inserted rows still roll back exactly."""

import psycopg
from psycopg import sql

from doctor_migration.migration import ledger
from doctor_migration.runner import roll_back
from doctor_migration_tests.helpers import lone_clean_ids, migrate
from doctor_migration_tests.test_rollback import stale_target
from doctor_migration_tests.test_rollback_exact import EXACT, LEDGER_V1, image, refused


def inserted_row(url: str, legacy_user_id: int):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT id FROM public.doctors WHERE legacy_user_id = %s",
                            (legacy_user_id,)).fetchone()[0]


def test_a_run_keeps_a_digest_of_each_row_it_inserts_and_images_of_the_rest(small_dbs):
    first = migrate(40)  # a first run: no migrated row to learn the triggers on before it
    assert first.success, first.failures
    with small_dbs.target() as conn:
        digest_columns, stage_id = conn.execute(
            "SELECT digest_columns, stage_id FROM doctor_migration.runs WHERE run_id = %s",
            (first.run_id,)).fetchone()
        columns = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'public.doctors'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")]
        # Every column but updated_at, which the target's trigger rewrites on any write.
        assert digest_columns == [c for c in columns if c != "updated_at"]
        assert stage_id == conn.execute(
            "SELECT run_id FROM doctor_migration.stages WHERE command = 'run'").fetchone()[0]
        conn.execute(EXACT)
        expected = sql.SQL("md5(ROW({})::text)").format(sql.SQL(", ").join(
            sql.SQL("{}::text").format(sql.Identifier("d", c)) for c in digest_columns))
        assert conn.execute(sql.SQL(
            "SELECT r.action, count(*), count(r.after_digest), count(r.before), count(r.after), "
            "count(*) FILTER (WHERE r.after_digest = {}) FROM doctor_migration.row_changes AS r "
            "JOIN public.doctors AS d ON d.id = r.doctor_id WHERE r.run_id = %s "
            "GROUP BY r.action").format(expected), (first.run_id,)).fetchall() == [
            ("insert", 40, 40, 0, 0, 40)]

    gone, moved = lone_clean_ids(small_dbs.world)[:2]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
        conn.execute("UPDATE auth_user SET date_joined = '2001-01-01 10:00Z' WHERE id = %s",
                     (moved,))
    second = migrate(39)
    assert second.success, second.failures
    with small_dbs.target() as conn:
        assert conn.execute(
            "SELECT action, count(before), count(after), count(after_digest) "
            "FROM doctor_migration.row_changes WHERE run_id = %s GROUP BY action ORDER BY action",
            (second.run_id,)).fetchall() == [("delete", 1, 0, 0), ("update", 1, 1, 0)]
        assert conn.execute("SELECT digest_columns FROM doctor_migration.runs WHERE run_id = %s",
                            (second.run_id,)).fetchone() == (None,)


def test_inserted_rows_edited_after_the_run_are_refused_naming_their_columns(small_dbs):
    run = migrate(40)
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.doctors SET bio = 'edited by staff', specialty = 'Surgery' "
                     "WHERE legacy_user_id = 5")
        conn.execute("UPDATE public.doctors SET created_at = '2020-01-01' "
                     "WHERE legacy_user_id = 8")
    refused(run.run_id,
            f"run {run.run_id} cannot be rolled back exactly: 2 of its rows changed since: "
            f"doctors row {inserted_row(small_dbs.target_url, 5)} (legacy user 5, inserted by "
            "the run): changed since the run (columns bio, specialty); doctors row "
            f"{inserted_row(small_dbs.target_url, 8)} (legacy user 8, inserted by the run): "
            "changed since the run (a column the migration does not map). Nothing was changed",
            small_dbs.target_url)


def test_an_inserted_row_edited_after_its_stage_was_replaced_is_named(small_dbs):
    first = migrate(40)
    rerun = migrate(40)  # writes nothing, and replaces the first run's stage
    assert rerun.success, rerun.failures
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.doctors SET bio = 'edited by staff' WHERE legacy_user_id = 5")
    sentence = (f"run {first.run_id} cannot be rolled back exactly: 1 of its rows changed since: "
                f"doctors row {inserted_row(small_dbs.target_url, 5)} (legacy user 5, inserted "
                "by the run): changed since the run. Nothing was changed")
    refused(first.run_id, sentence, small_dbs.target_url)
    with small_dbs.target() as conn:  # no stage table at all
        conn.execute("DROP TABLE doctor_migration.doctor_rows")
    refused(first.run_id, sentence, small_dbs.target_url)


def test_an_inserted_row_updated_and_set_back_is_removed_exactly(small_dbs):
    before = image(small_dbs.target_url)
    run = migrate(40)  # a first run
    assert run.success, run.failures
    with small_dbs.target() as conn:
        bio, stamped = conn.execute("SELECT bio, updated_at FROM public.doctors "
                                    "WHERE legacy_user_id = 5").fetchone()
        conn.execute("UPDATE public.doctors SET bio = 'edited by staff' WHERE legacy_user_id = 5")
        conn.execute("UPDATE public.doctors SET bio = %s WHERE legacy_user_id = 5", (bio,))
        # The target's trigger rewrote updated_at: the row is not byte for byte as inserted.
        assert conn.execute("SELECT updated_at FROM public.doctors WHERE legacy_user_id = 5"
                            ).fetchone()[0] != stamped
    undo = roll_back(run.run_id, progress=False)
    assert undo.success, undo.failures
    assert image(small_dbs.target_url) == before


def test_a_digest_column_dropped_after_the_run_is_refused_naming_it(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ADD COLUMN badge text")
    run = migrate(40)
    assert run.success, run.failures
    with small_dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors DROP COLUMN badge")
    refused(run.run_id,
            f"run {run.run_id} cannot be rolled back exactly: the rows it inserted cannot be "
            "checked, since column badge of doctors, which the ledger's digests of them cover, "
            "was dropped after the run. Nothing was changed", small_dbs.target_url)


# The ledger as the version before digests made it: format 2, after-images for inserted rows.
LEDGER_V2 = LEDGER_V1 + """
ALTER TABLE doctor_migration.runs ADD COLUMN ledger_format integer NOT NULL DEFAULT 1;
"""


def test_a_run_recorded_with_after_images_of_its_inserted_rows_rolls_back_exactly(small_dbs):
    stale_target(small_dbs)
    inactive = small_dbs.world.by_kind("inactive")[0].id
    before = image(small_dbs.target_url)
    # What the version before digests wrote, as the role the tool connects as.
    with psycopg.connect(small_dbs.target_url, autocommit=True) as conn:
        conn.execute(EXACT)
        text_image = ledger.image(ledger.doctor_columns(conn), "d")
        conn.execute(LEDGER_V2)
        conn.execute("INSERT INTO doctor_migration.runs (run_id, started_at, inserted, updated, "
                     "deleted, ledger_format) VALUES ('v2', now(), 1, 1, 1, 2)")
        conn.execute(sql.SQL(
            "INSERT INTO doctor_migration.row_changes (run_id, doctor_id, legacy_user_id, "
            "action, before) SELECT 'v2', id, legacy_user_id, CASE legacy_user_id WHEN 2 THEN "
            "'update' ELSE 'delete' END, {} FROM public.doctors AS d "
            "WHERE legacy_user_id IN (2, %s)").format(text_image), (inactive,))
        conn.execute("UPDATE public.doctors SET bio = 'migrated bio' WHERE legacy_user_id = 2")
        conn.execute("DELETE FROM public.doctors WHERE legacy_user_id = %s", (inactive,))
        conn.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) SELECT id, "
                     "legacy_user_id FROM public.profiles WHERE legacy_user_id = 5 "
                     "AND profile_type = 'doctor'")
        conn.execute("INSERT INTO doctor_migration.row_changes (run_id, doctor_id, "
                     "legacy_user_id, action) SELECT 'v2', id, legacy_user_id, 'insert' "
                     "FROM public.doctors WHERE legacy_user_id = 5")
        conn.execute(sql.SQL("UPDATE doctor_migration.row_changes AS r SET after = {} "
                             "FROM public.doctors AS d WHERE d.id = r.doctor_id").format(
            text_image))
    with small_dbs.target() as conn:
        specialty = conn.execute("SELECT specialty FROM public.doctors WHERE legacy_user_id = 5"
                                 ).fetchone()[0]
        conn.execute("UPDATE public.doctors SET specialty = 'Surgery' WHERE legacy_user_id = 5")
    refused("v2", "run v2 cannot be rolled back exactly: 1 of its rows changed since: doctors "
            f"row {inserted_row(small_dbs.target_url, 5)} (legacy user 5, inserted by the run): "
            "changed since the run (column specialty). Nothing was changed",
            small_dbs.target_url)
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.doctors SET specialty = %s WHERE legacy_user_id = 5",
                     (specialty,))
    undo = roll_back("v2", progress=False)
    assert undo.success, undo.failures
    assert image(small_dbs.target_url) == before
    run = migrate(40)  # the ledger upgraded; this run keeps digests of its inserted rows
    assert run.success, run.failures
    assert roll_back(run.run_id, progress=False).success
    assert image(small_dbs.target_url) == before
