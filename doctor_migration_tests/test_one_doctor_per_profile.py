"""One doctors row per profile (issue 19, item 4): a doctor who signed up in the app before the
migration has a native doctors row on the profile the legacy user's row goes to. The run stops
before any write, naming the ids; each way out its advice prints, run as the target's
`postgres`, lets the next run pass; the load and the validation after it catch the same."""

import re
from datetime import UTC, datetime

from doctor_migration import cli
from doctor_migration.migration.gates import (
    ADOPT_DOCTOR,
    ANOTHER_DOCTOR_ADVICE,
    DELETE_DOCTOR,
)
from doctor_migration.names import EXIT_STOPPED, NO_PROFILE_HAS_ANOTHER_DOCTOR
from doctor_migration_tests.helpers import doctors, lone_clean_ids, migrate, snapshot
from doctor_migration_tests.test_advice_works_on_supabase import follow
from doctor_migration_tests.test_stop_conditions import stops

CREATED = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def profile_of(dbs, uid: int):
    with dbs.target() as conn:
        return conn.execute("SELECT id FROM public.profiles WHERE legacy_user_id = %s",
                            (uid,)).fetchone()[0]


def sign_up_in_the_app(dbs, uid: int):
    """A native doctors row (legacy_user_id NULL) on legacy user uid's profile, as the app
    writes one; its id."""
    with dbs.target() as conn:
        conn.execute("ALTER TABLE public.doctors ADD COLUMN IF NOT EXISTS app_note text")
        return conn.execute(
            "INSERT INTO public.doctors (profile_id, specialty, bio, license_number, "
            "app_note, created_at) VALUES (%s, 'Orthodontics', 'Signed up in the app', "
            "'APP-1', 'kept by the app', %s) RETURNING id",
            (profile_of(dbs, uid), CREATED)).fetchone()[0]


def gate_failure(clean: int, offenders: list[tuple[int, str]]) -> str:
    """The run's failure line of the gate, exactly."""
    return (f"check {NO_PROFILE_HAS_ANOTHER_DOCTOR} failed: {len(offenders)} of {clean} clean "
            f"doctors' profiles already have another doctors row; {ANOTHER_DOCTOR_ADVICE}; "
            f"offending legacy user ids: {' '.join(str(uid) for uid, _ in offenders)}\n"
            "| legacy user id | problem |\n|---|---|\n"
            + "\n".join(f"| {uid} | {problem} |" for uid, problem in offenders))


def way_out(failure: str, verb: str) -> str:
    """The advice's statement that starts with `verb`, as the stopped run prints it, filled in
    with the legacy id and the doctors.id its one offender's line names."""
    [statement] = re.findall(rf"{verb} .*?;", failure)
    uid, did = re.search(r"\| (\d+) \| profile \S+ already has doctors row (\S+) \(",
                         failure).groups()
    return statement.replace("<legacy id>", uid).replace("<doctors.id>", did)


def as_postgres(dbs, statement: str) -> None:
    """A statement run as the tool's own `postgres` on the target (NOSUPERUSER, RLS on
    public.doctors), as test_advice_works_on_supabase runs advice."""
    follow(dbs, statement, r".+", 1)


def rows_of_profile(dbs, profile_id) -> dict:
    return doctors(dbs.target_url, f"profile_id = '{profile_id}'")


def test_a_native_doctor_on_a_clean_doctors_profile_stops_the_run(small_dbs, capsys):
    uid = lone_clean_ids(small_dbs.world)[0]
    pid = profile_of(small_dbs, uid)
    did = sign_up_in_the_app(small_dbs, uid)
    problem = f"profile {pid} already has doctors row {did} (native)"
    outcome = stops(small_dbs, 40, gate_failure(40, [(uid, problem)]),
                    gate=NO_PROFILE_HAS_ANOTHER_DOCTOR, offenders=[uid])
    assert outcome.failures == [gate_failure(40, [(uid, problem)])]
    assert ANOTHER_DOCTOR_ADVICE == (
        "adopt the row with UPDATE public.doctors SET legacy_user_id = <legacy id> "
        "WHERE id = '<doctors.id>'; or, if the legacy record wins, remove it with "
        "DELETE FROM public.doctors WHERE id = '<doctors.id>';")

    capsys.readouterr()
    assert cli.main(["explain", str(uid)]) == 0
    assert (f"  a run stops at the gate {NO_PROFILE_HAS_ANOTHER_DOCTOR} before any write: "
            f"{problem} (step 1.3: one doctors row per doctor profile)"
            ) in capsys.readouterr().out.splitlines()


def test_adopting_the_native_row_updates_it_in_place(small_dbs):
    uid = lone_clean_ids(small_dbs.world)[0]
    pid = profile_of(small_dbs, uid)
    did = sign_up_in_the_app(small_dbs, uid)
    stopped = migrate(40)
    assert stopped.exit_code == EXIT_STOPPED
    [before] = rows_of_profile(small_dbs, pid).values()

    adopt = way_out(stopped.failures[0], "UPDATE")
    assert adopt == ADOPT_DOCTOR.format(legacy_id=uid, doctor_id=did)
    as_postgres(small_dbs, adopt)
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    assert "| inserted | 39 |" in outcome.report
    assert "| updated in place | 1 |" in outcome.report
    [after] = rows_of_profile(small_dbs, pid).values()
    assert after["id"] == did and after["legacy_user_id"] == uid
    # What the mapping does not write stays the app's; what it writes is the legacy record.
    assert (after["created_at"], after["app_note"]) == (CREATED, "kept by the app")
    assert (after["specialty"], after["bio"], after["license_number"], after["doctor_number"]) \
        == ("General Practice", "Migrated doctor profile", None, f"DOC-{uid}")
    assert before["bio"] == "Signed up in the app"


def test_deleting_the_native_row_leaves_the_profile_one_doctor(small_dbs):
    uid = lone_clean_ids(small_dbs.world)[0]
    pid = profile_of(small_dbs, uid)
    did = sign_up_in_the_app(small_dbs, uid)
    stopped = migrate(40)
    assert stopped.exit_code == EXIT_STOPPED

    delete = way_out(stopped.failures[0], "DELETE")
    assert delete == DELETE_DOCTOR.format(doctor_id=did)
    as_postgres(small_dbs, delete)
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    [after] = rows_of_profile(small_dbs, pid).values()
    assert after["id"] != did and after["legacy_user_id"] == uid


def test_a_row_migrated_for_another_legacy_user_on_the_profile_stops_the_run(small_dbs):
    assert migrate(40).success
    other, uid = lone_clean_ids(small_dbs.world)[:2]
    pid = profile_of(small_dbs, uid)
    with small_dbs.target() as conn:
        # The profile migration was redone: other's row now sits on uid's profile.
        did = conn.execute("UPDATE public.doctors SET profile_id = %s WHERE legacy_user_id = %s "
                           "RETURNING id", (pid, other)).fetchone()[0]
    problem = f"profile {pid} already has doctors row {did} (migrated for legacy user {other})"
    stops(small_dbs, 40, gate_failure(40, [(uid, problem)]),
          gate=NO_PROFILE_HAS_ANOTHER_DOCTOR, offenders=[uid])


def test_a_native_row_that_appears_after_the_gates_stops_the_load(small_dbs):
    """The app writes the row between the gates and the load: here a trigger on the stage's
    doctor_rows, which a run fills after its gates passed."""
    uid = lone_clean_ids(small_dbs.world)[0]
    pid = profile_of(small_dbs, uid)
    assert migrate(40, dry_run=True).success  # creates the stage's tables
    with small_dbs.target() as conn:
        conn.execute(f"""
            CREATE FUNCTION public.sign_up() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.doctors (profile_id, bio) VALUES ('{pid}', 'Just signed up');
                RETURN NULL;
            END $$;
            CREATE TRIGGER sign_up AFTER INSERT ON doctor_migration.doctor_rows
                FOR EACH STATEMENT EXECUTE FUNCTION public.sign_up();""")
    outcome = migrate(40)
    assert outcome.exit_code == EXIT_STOPPED, outcome.failures
    [did] = rows_of_profile(small_dbs, pid)
    assert outcome.failures == [
        f"stopped at loaded_doctors: 1 clean doctors' profiles already have another doctors "
        f"row: legacy user {uid}: profile {pid} already has doctors row {did} (native); "
        f"{ANOTHER_DOCTOR_ADVICE}"]
    with small_dbs.target() as conn:
        assert conn.execute("SELECT count(*) FROM public.doctors "
                            "WHERE legacy_user_id IS NOT NULL").fetchone()[0] == 0


def test_validation_finds_a_second_row_written_on_the_profile_during_the_load(small_dbs):
    """A row that the gates and the load's own check could not see (a trigger adds it with the
    insert) makes step 3.2's check fail inside the load: rolled back."""
    uid = lone_clean_ids(small_dbs.world)[0]
    with small_dbs.target() as conn:
        conn.execute(f"""
            CREATE FUNCTION public.twin() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.doctors (profile_id, bio) VALUES (NEW.profile_id, 'twin');
                RETURN NULL;
            END $$;
            CREATE TRIGGER twin AFTER INSERT ON public.doctors FOR EACH ROW
                WHEN (NEW.legacy_user_id = {uid}) EXECUTE FUNCTION public.twin();""")
    before = snapshot(small_dbs.target_url)
    outcome = migrate(40)
    assert outcome.exit_code == EXIT_STOPPED, outcome.failures
    # The twin is a native doctor written during the load: native_doctors_untouched fails too.
    [failure] = outcome.failures
    assert failure.startswith(
        "stopped at loaded_doctors: validation failed before commit, rolled back: step 3.2 "
        "no_profile_has_two_doctors: 1 profiles of migrated doctors hold more than one doctors "
        f"row: legacy user {uid}; native_doctors_untouched: native doctors changed during the "
        "run (before: (5, "), failure
    assert snapshot(small_dbs.target_url) == before


def test_the_plan_names_the_columns_an_adopted_row_gets_overwritten(small_dbs):
    """Among more updates of a column than the report's five examples, the adopted row's
    legacy id comes first: the operator sees which app-entered values the run overwrites."""
    clean = lone_clean_ids(small_dbs.world)
    uid, older = clean[-1], clean[:6]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (uid,))
    assert migrate(39).success
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = true WHERE id = %s", (uid,))
        conn.execute("UPDATE auth_user SET date_joined = date_joined - interval '1 day' "
                     "WHERE id = ANY(%s)", (older,))
    did = sign_up_in_the_app(small_dbs, uid)
    as_postgres(small_dbs, ADOPT_DOCTOR.format(legacy_id=uid, doctor_id=did))

    plan = migrate(40, dry_run=True)
    assert plan.success, plan.failures
    changed = {c["column"]: c for c in plan.report_json["changed_columns"]}
    assert changed["joined_practice_at"] == {
        "column": "joined_practice_at", "doctors": 7, "examples": [uid, *older[:4]]}
    assert changed["bio"] == {"column": "bio", "doctors": 1, "examples": [uid]}
    assert "| bio | 1 | " + str(uid) + " |" in plan.report
    # Every column whose app-entered value (or default) the mapping overwrites, and only those.
    assert sorted(c for c, entry in changed.items() if uid in entry["examples"]) == [
        "bio", "consultation_duration_minutes", "doctor_id", "doctor_number",
        "follow_up_duration_minutes", "joined_practice_at", "languages_spoken",
        "legacy_doctor_id", "license_number", "licensed_since", "migration_metadata",
        "practice_type", "specialties", "specialty", "years_experience"]

