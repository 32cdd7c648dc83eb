"""Every stop condition fails the run, names the offenders, and leaves the target's doctors
(and the ledger) byte for byte as they were."""

import psycopg
import pytest

from doctor_migration.names import EXIT_STOPPED
from doctor_migration_tests.helpers import lone_clean_ids, migrate, snapshot


def stops(dbs, expected_count: int, *needles: str, gate: str | None = None,
          offenders: list[int] | None = None):
    """The run stops with nothing written, its failures saying every needle; with `gate`, that
    check of step 1.3 is the only one failing, naming exactly `offenders`."""
    before = snapshot(dbs.target_url)
    outcome = migrate(expected_count)
    assert not outcome.success
    assert outcome.exit_code == EXIT_STOPPED, outcome.failures
    text = "\n".join(outcome.failures)
    for needle in needles:
        assert needle in text, (needle, text)
    assert snapshot(dbs.target_url) == before
    if gate is not None:
        failing = [c for c in outcome.result.get_asset_check_evaluations() if not c.passed]
        assert [c.check_name for c in failing] == [gate]
        named = failing[0].metadata["all_offending_legacy_ids"].value
        assert [int(uid) for uid in named.split()] == (offenders or [])
    return outcome


def test_wrong_count_stops_before_any_write(small_dbs):
    stops(small_dbs, 41, "40 clean doctors in the source, 41 expected",
          gate="clean_doctor_count_is_expected")


def test_missing_profile_stops_and_names_the_user(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("DELETE FROM public.profiles WHERE legacy_user_id IN (3, 17)")
    stops(small_dbs, 40, "| 3 | no doctor profile |", "| 17 | no doctor profile |",
          gate="every_clean_doctor_has_one_profile", offenders=[3, 17])


def test_profile_of_another_type_does_not_count(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.profiles SET profile_type = 'patient' WHERE legacy_user_id = 5")
    stops(small_dbs, 40, "| 5 | no doctor profile |",
          gate="every_clean_doctor_has_one_profile", offenders=[5])


def test_duplicate_profile_stops_and_names_the_user(small_dbs):
    with small_dbs.target() as conn:
        # A second Auth user (profiles.id references auth.users) with a copy of the profile.
        conn.execute(
            "WITH u AS (INSERT INTO auth.users (id, aud, role) "
            "VALUES (gen_random_uuid(), 'authenticated', 'authenticated') RETURNING id) "
            "INSERT INTO public.profiles (id, legacy_user_id, first_name, last_name, email, "
            "profile_type) SELECT u.id, legacy_user_id, first_name, last_name, email, "
            "profile_type FROM u, public.profiles WHERE legacy_user_id = 7")
    stops(small_dbs, 40, "| 7 | 2 doctor profiles |",
          gate="every_clean_doctor_has_one_profile", offenders=[7])


@pytest.mark.parametrize("column", ["first_name", "last_name", "email"])
def test_profile_that_differs_from_the_source_stops(small_dbs, column):
    with small_dbs.target() as conn:
        conn.execute(f"UPDATE public.profiles SET {column} = 'Someone Else' "
                     "WHERE legacy_user_id = 12")
    stops(small_dbs, 40, f"| 12 | {column} differ |", gate="profiles_match_source",
          offenders=[12])


def test_case_and_spacing_differences_are_not_mismatches(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.profiles SET first_name = '  ' || upper(first_name) || ' ', "
                     "email = upper(email) || '  ' WHERE legacy_user_id = 12")
    assert migrate(40).success


def test_all_offenders_are_named_not_just_the_first(small_dbs):
    with small_dbs.target() as conn:
        conn.execute("DELETE FROM public.profiles WHERE legacy_user_id BETWEEN 1 AND 30")
    outcome = stops(small_dbs, 40, "30 have none")
    ids = " ".join(str(i) for i in range(1, 31))
    assert ids in "\n".join(outcome.failures)


def test_referenced_row_that_is_no_longer_clean_stops_the_run(small_dbs):
    assert migrate(40).success
    uid = lone_clean_ids(small_dbs.world)[-1]
    with small_dbs.target() as conn:
        doctor_id = conn.execute(
            "SELECT id FROM public.doctors WHERE legacy_user_id = %s", (uid,)).fetchone()[0]
        conn.execute("INSERT INTO public.appointments (doctor_id) VALUES (%s)", (doctor_id,))
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (uid,))
    stops(small_dbs, 39, "public.appointments has 1 row(s) referencing doctors row "
          f"{doctor_id} (legacy user {uid})")


def test_legacy_user_with_two_migrated_rows_stops_the_run(small_dbs):
    assert migrate(40).success
    with small_dbs.target() as conn:
        conn.execute("INSERT INTO public.doctors (profile_id, legacy_user_id) "
                      "SELECT profile_id, legacy_user_id FROM public.doctors "
                      "WHERE legacy_user_id = 9")
    stops(small_dbs, 40, "legacy user 9 (2 rows)")


def test_failed_validation_before_commit_rolls_the_load_back(small_dbs):
    # The gates (step 3.3 predicted among them) saw nothing wrong; a trigger of the target's
    # own renames a profile's e-mail during the load, so step 3.3, checked inside the
    # transaction, finds an internal account among the migrated doctors. The load must roll
    # back entirely.
    with small_dbs.target() as conn:
        conn.execute(
            "CREATE FUNCTION public.rename_profile() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE public.profiles SET email = 'ops@brius.com' "
            "WHERE id = NEW.profile_id AND NEW.legacy_user_id = 15; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER rename_profile AFTER INSERT ON public.doctors "
                     "FOR EACH ROW EXECUTE FUNCTION public.rename_profile()")
    stops(small_dbs, 40, "3.3 no_test_accounts_migrated", "legacy user 15")
    with psycopg.connect(small_dbs.target_url) as conn:
        assert conn.execute("SELECT to_regclass('doctor_migration.runs')").fetchone()[0] is None


def test_an_internal_email_that_step_1_1_lets_through_stops_before_any_write(small_dbs):
    """Step 1.1's internal domains are case-sensitive: Dave@BRIUS.COM is a clean doctor, while
    Supabase Auth keeps dave@brius.com in his profile, which step 3.3 would reject after the
    load. The gate predicts it: the run stops before any write, naming him, the rule and the
    side; step 3.3 never has to roll a whole load back."""
    dave, tess = lone_clean_ids(small_dbs.world)[:2]
    with small_dbs.source() as conn:
        conn.execute("UPDATE auth_user SET email = 'Dave@BRIUS.COM' WHERE id = %s", (dave,))
    with small_dbs.target() as conn:
        conn.execute("UPDATE public.profiles SET email = 'dave@brius.com' "
                     "WHERE legacy_user_id = %s", (dave,))
        # Only the profile matches: a profile migration that renamed her address.
        conn.execute("UPDATE public.profiles SET email = 'tess@demo.example.com' "
                     "WHERE legacy_user_id = %s", (tess,))
    outcome = stops(small_dbs, 40, "check no_clean_doctor_fails_step_3_3 failed: 2 of 40 clean "
                    "doctors have a test, demo or internal e-mail (step 3.3's rules) in the "
                    "source or in their profile",
                    f"| {dave} | profile e-mail ends with \"brius.com\" |",
                    f"| {tess} | profile e-mail contains \"demo\" |")
    assert not any("loaded_doctors" in line for line in outcome.failures), outcome.failures
