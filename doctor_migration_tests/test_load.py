"""The load: updates in place, inserts, deletes what is no longer clean, never touches native
doctors, and writes nothing when nothing changed."""

import psycopg

from doctor_migration_tests.helpers import doctors, lone_clean_ids, migrate, snapshot


def test_rerun_keeps_every_id_and_writes_no_row(small_dbs):
    assert migrate(40).success
    first = doctors(small_dbs.target_url)
    with small_dbs.target() as conn:
        xmins = dict(conn.execute("SELECT id, xmin::text FROM public.doctors").fetchall())
    outcome = migrate(40)
    assert outcome.success
    assert "| unchanged (not written) | 40 |" in outcome.report
    assert doctors(small_dbs.target_url) == first
    with small_dbs.target() as conn:
        # xmin changes whenever a row is written, even to the same values.
        assert dict(conn.execute("SELECT id, xmin::text FROM public.doctors").fetchall()) == xmins


def test_native_doctors_and_their_references_survive(dbs):
    with dbs.target() as conn:
        natives_before = conn.execute(
            "SELECT * FROM public.doctors WHERE legacy_user_id IS NULL ORDER BY id").fetchall()
        appointments_before = conn.execute(
            "SELECT * FROM public.appointments ORDER BY id").fetchall()
    assert natives_before and appointments_before
    assert migrate(399).success
    assert migrate(399).success
    with dbs.target() as conn:
        assert conn.execute("SELECT * FROM public.doctors WHERE legacy_user_id IS NULL "
                            "ORDER BY id").fetchall() == natives_before
        assert conn.execute("SELECT * FROM public.appointments ORDER BY id").fetchall() \
            == appointments_before


def test_stale_migrated_rows_are_updated_in_place(small_dbs):
    with small_dbs.target() as conn:
        # A column this project does not know about, as real targets have.
        conn.execute("ALTER TABLE public.doctors ADD COLUMN internal_note text")
    assert migrate(40).success
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.doctors SET bio = 'stale', years_experience = 99, "
                     "internal_note = 'keep me', created_at = '2020-01-01' "
                     "WHERE legacy_user_id IN (2, 4)")
        conn.execute("UPDATE public.doctors SET migration_metadata = jsonb_set("
                     "migration_metadata, '{source_patient_count}', '12345') "
                     "WHERE legacy_user_id = 6")
    before = doctors(small_dbs.target_url)
    outcome = migrate(40)
    assert outcome.success
    assert "| updated in place | 3 |" in outcome.report
    assert "| bio | 2 | 2, 4 |" in outcome.report
    after = doctors(small_dbs.target_url)
    assert set(after) == set(before)
    for doctor_id, row in after.items():
        old = before[doctor_id]
        if row["legacy_user_id"] in (2, 4):
            assert row["bio"] == "Migrated doctor profile"
            assert row["years_experience"] != 99
            assert row["internal_note"] == "keep me"
            assert row["created_at"] == old["created_at"]
            assert row["updated_at"] > old["updated_at"]
        elif row["legacy_user_id"] == 6:
            assert row["migration_metadata"]["source_patient_count"] != 12345
        else:
            assert row == old


def test_rows_no_longer_clean_are_removed(small_dbs):
    assert migrate(40).success
    gone = lone_clean_ids(small_dbs.world)[:2]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone[0],))
        conn.execute("UPDATE dispatch_patient SET archived = true WHERE doctor_id = %s",
                     (gone[1],))
    outcome = migrate(38)
    assert outcome.success, outcome.failures
    assert "| deleted (no longer clean) | 2 |" in outcome.report
    remaining = {r["legacy_user_id"] for r in doctors(small_dbs.target_url).values()}
    assert not remaining & set(gone)
    assert len(remaining - {None}) == 38


def test_new_clean_doctor_is_inserted_next_to_existing_rows(small_dbs):
    assert migrate(40).success
    before = doctors(small_dbs.target_url)
    uid = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.target() as conn:
        conn.execute("DELETE FROM public.doctors WHERE legacy_user_id = %s", (uid,))
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    assert "| inserted | 1 |" in outcome.report
    assert "| unchanged (not written) | 39 |" in outcome.report
    after = doctors(small_dbs.target_url)
    kept = {k: v for k, v in before.items() if v["legacy_user_id"] != uid}
    assert {k: after[k] for k in kept} == kept
    # The row is back, as the mapping writes it: only its identity and timestamps are new.
    (old,) = [v for v in before.values() if v["legacy_user_id"] == uid]
    (new_id,) = set(after) - set(kept)
    fresh = {"id", "created_at", "updated_at"}
    assert new_id not in before
    assert {k: v for k, v in after[new_id].items() if k not in fresh} \
        == {k: v for k, v in old.items() if k not in fresh}


def test_dry_run_changes_nothing_and_predicts_the_run(small_dbs):
    before = snapshot(small_dbs.target_url)
    plan = migrate(40, dry_run=True)
    assert plan.success, plan.failures
    assert "Dry run: nothing was written" in plan.report
    assert "| inserted | 40 |" in plan.report
    assert snapshot(small_dbs.target_url) == before
    with psycopg.connect(small_dbs.target_url) as conn:
        # No ledger; only the plan's stage, the tool's workspace, with what it would write.
        assert conn.execute("SELECT to_regclass('doctor_migration.runs'), "
                            "to_regclass('doctor_migration.row_changes')").fetchone() \
            == (None, None)
        assert conn.execute("SELECT command, count(*) FROM doctor_migration.stages "
                            "JOIN doctor_migration.doctor_rows USING (run_id) "
                            "WHERE run_id = %s GROUP BY command",
                            (plan.run_id,)).fetchall() == [("plan", 40)]
    run = migrate(40)
    assert "| inserted | 40 |" in run.report


def test_source_role_that_can_only_select_is_enough(small_dbs):
    """The tests' source role is the demo's reader: SELECT on the plan's four tables, nothing
    else; a whole run needs no more."""
    with psycopg.connect(small_dbs.source_url) as conn:
        assert conn.execute(
            "SELECT rolsuper, has_database_privilege(current_database(), 'TEMP'), "
            "has_table_privilege('auth_user', 'INSERT'), has_table_privilege('auth_user', 'SELECT')"
            " FROM pg_roles WHERE rolname = current_user").fetchone() == (False, False, False, True)
    outcome = migrate(40)
    assert outcome.success, outcome.failures


def test_a_dry_run_launched_with_part_of_its_config_writes_nothing(small_dbs):
    """The dry-run job launched with only some of its config (the rest at its defaults) writes
    nothing: it is a dry run by what it is, and has no setting that would load."""
    import dagster as dg

    from doctor_migration import runner
    from doctor_migration.defs.config import SETTINGS, MigrationSettings
    from doctor_migration.defs.jobs import DRY_RUN_JOB

    before = snapshot(small_dbs.target_url)
    outcome = runner.launch(DRY_RUN_JOB, dg.RunConfig(resources={
        SETTINGS: MigrationSettings(expected_count=40)}), progress=False)
    assert outcome.success, outcome.failures
    assert outcome.report_json["dry_run"] is True
    assert outcome.report_json["counts"]["inserted"] == 40
    assert snapshot(small_dbs.target_url) == before
