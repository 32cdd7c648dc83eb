"""What the gates passed is what the load writes (issue 19): the stage is sealed by the step that
checked or filled it and verified by the step that uses it; the load compares its count again."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from doctor_migration import names
from doctor_migration.migration import seal
from doctor_migration.migration.errors import StopMigration
from doctor_migration_tests.helpers import RUN, gated, load, mapped, migrate, snapshot

def first_clean_id(dbs) -> int:
    return min(dbs.world.clean_ids)


# Edits another session of the tool's role makes to a sealed stage table between two steps.
DOCTOR_ROW_EDITS = {
    "emptied": ("DELETE FROM doctor_migration.doctor_rows WHERE run_id = %(sid)s",
                "(40 rows then, 0 now); clean doctors missing: "),
    "one bio edited": ("UPDATE doctor_migration.doctor_rows SET bio = 'edited' "
                       "WHERE run_id = %(sid)s AND legacy_user_id = %(uid)s",
                       "(40 rows then, 40 now, the same count but rows written since)"),
    "a stranger added": ("INSERT INTO doctor_migration.doctor_rows SELECT run_id, 777777, "
                         "profile_id, 777777, doctor_number, license_number, npi_number, "
                         "specialty, board_certifications, education, years_experience, "
                         "primary_office_id, practice_type, status, is_accepting_patients, "
                         "max_patient_load, bio, specialties, languages_spoken, "
                         "professional_memberships, consultation_duration_minutes, "
                         "follow_up_duration_minutes, working_hours, consultation_fee, "
                         "accepts_insurance, payment_terms, licensed_since, joined_practice_at, "
                         "777777, migration_metadata FROM doctor_migration.doctor_rows "
                         "WHERE run_id = %(sid)s AND legacy_user_id = %(uid)s",
                         "(40 rows then, 41 now); legacy ids not among the clean doctors: "
                         "777777; another"),
    # A write that leaves every value as it was is a write all the same.
    "one row rewritten as it was": ("UPDATE doctor_migration.doctor_rows SET bio = bio "
                                    "WHERE run_id = %(sid)s AND legacy_user_id = %(uid)s",
                                    "(40 rows then, 40 now, the same count but rows written "
                                    "since)"),
}


@pytest.mark.parametrize("edit", list(DOCTOR_ROW_EDITS))
def test_a_load_writes_nothing_when_doctor_rows_changed_after_their_step(small_dbs, edit):
    assert migrate(40).success
    before = snapshot(small_dbs.target_url)
    sid = "sealed-stage"
    sealed = mapped(small_dbs, sid, gated(small_dbs, sid))
    statement, said = DOCTOR_ROW_EDITS[edit]
    with small_dbs.target() as conn:
        conn.execute(statement, {"sid": sid, "uid": first_clean_id(small_dbs)})
    with pytest.raises(seal.StageChanged) as stopped:
        load(small_dbs, sid, sealed)
    message = str(stopped.value)
    assert message.startswith(
        f"doctor_migration.doctor_rows of stage {sid} is not what run {RUN} checked and sealed ")
    assert said in message
    assert message.endswith("; another session or command changed it after its step, so "
                            "nothing was written: run the migration again")
    assert snapshot(small_dbs.target_url) == before


# Edits between the gates (clean_doctors' step) and the mapping (doctor_rows' step).
GATED_EDITS = {
    "clean_doctors emptied": "DELETE FROM doctor_migration.clean_doctors WHERE run_id = %(sid)s",
    "a clean doctor's e-mail edited": "UPDATE doctor_migration.clean_doctors "
                                      "SET email = 'x@brius.com' "
                                      "WHERE run_id = %(sid)s AND user_id = %(uid)s",
    "a profile added": "INSERT INTO doctor_migration.profile_coverage "
                       "SELECT run_id, gen_random_uuid(), legacy_user_id, first_name, last_name, "
                       "email FROM doctor_migration.profile_coverage "
                       "WHERE run_id = %(sid)s AND legacy_user_id = %(uid)s",
    "a clean doctor rewritten as it was": "UPDATE doctor_migration.clean_doctors "
                                          "SET email = email "
                                          "WHERE run_id = %(sid)s AND user_id = %(uid)s",
}


@pytest.mark.parametrize("edit", list(GATED_EDITS))
def test_the_mapping_refuses_what_the_gates_did_not_pass(small_dbs, edit):
    sid = "gated-stage"
    passed = gated(small_dbs, sid)
    with small_dbs.target() as conn:
        conn.execute(GATED_EDITS[edit], {"sid": sid, "uid": first_clean_id(small_dbs)})
    with pytest.raises(seal.StageChanged, match=r"^doctor_migration\.(clean_doctors|"
                       r"profile_coverage) of stage gated-stage is not what run "):
        mapped(small_dbs, sid, passed)
    with small_dbs.target() as conn:
        assert conn.execute("SELECT count(*) FROM doctor_migration.doctor_rows "
                            "WHERE run_id = %s", (sid,)).fetchone()[0] == 0


def test_maintenance_that_writes_no_row_keeps_the_seals(small_dbs):
    """The seals hold the rows' writers, which VACUUM FULL, FREEZE and ANALYZE keep."""
    sid = "maintained-stage"
    passed = gated(small_dbs, sid)
    with small_dbs.target() as conn:
        for name in ("profile_coverage", "clean_doctors"):
            conn.execute(f"VACUUM (FULL, FREEZE, ANALYZE) doctor_migration.{name}")
    sealed = mapped(small_dbs, sid, passed)
    with small_dbs.target() as conn:
        conn.execute("VACUUM (FULL, FREEZE, ANALYZE) doctor_migration.doctor_rows")
    assert load(small_dbs, sid, sealed).inserted == 40


def test_a_seal_of_another_stage_is_refused(small_dbs):
    sid = "one-stage"
    sealed = mapped(small_dbs, sid, gated(small_dbs, sid))
    foreign = seal.Seal(**{**sealed.to_json(), "stage_id": "another-stage"})
    with pytest.raises(seal.StageChanged, match="^the seal of doctor_migration.doctor_rows "
                       "belongs to stage another-stage, not to this command's stage one-stage"):
        load(small_dbs, sid, foreign)


def test_the_load_compares_its_count_with_the_expected_count_again(small_dbs):
    before = snapshot(small_dbs.target_url)
    sid = "counted-stage"
    sealed = mapped(small_dbs, sid, gated(small_dbs, sid))
    with pytest.raises(StopMigration) as stopped:
        load(small_dbs, sid, sealed, expected=39)
    assert str(stopped.value) == ("the load found 40 clean doctors in its stage where 39 are "
                                  "expected; nothing was written")
    assert snapshot(small_dbs.target_url) == before


def _waiting_for_doctors(conn: psycopg.Connection) -> bool:
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND application_name LIKE 'doctor-migration run %%')").fetchone()[0]


def test_a_stage_emptied_while_the_load_waits_for_its_lock_deletes_nothing(small_dbs):
    """The review's reproduction: a second run waits for a lock another session holds on
    public.doctors; that session empties the stage and commits."""
    assert migrate(40).success
    before = snapshot(small_dbs.target_url)
    outcome = {}
    with small_dbs.target() as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK public.doctors IN ROW EXCLUSIVE MODE")
        run = threading.Thread(target=lambda: outcome.update(
            run=migrate(40, lock_timeout="60s")))
        run.start()
        with small_dbs.target() as watcher:
            deadline = time.monotonic() + 120
            while not _waiting_for_doctors(watcher):
                assert time.monotonic() < deadline and run.is_alive()
                time.sleep(0.1)
        holder.execute("DELETE FROM doctor_migration.doctor_rows")
        holder.execute("COMMIT")
        run.join(120)
    result = outcome["run"]
    assert result.exit_code == names.EXIT_STOPPED
    assert [line.split(" is not what run ")[0] for line in result.failures] == [
        "stopped at loaded_doctors: doctor_migration.doctor_rows of stage " + result.run_id]
    assert "(40 rows then, 0 now); clean doctors missing: " in result.failures[0]
    assert snapshot(small_dbs.target_url) == before
