"""Step 1.3's stop conditions: the verdicts and the sentences, from the offenders the SQL over
the stage returns (test_stop_conditions.py runs them against real databases)."""

from doctor_migration.migration.gates import (
    ANOTHER_DOCTOR_ADVICE,
    WHITESPACE,
    another_doctor_stop,
    clean_doctor_count_is_expected,
    every_clean_doctor_has_one_profile,
    no_profile_has_another_doctor,
    profiles_match_source,
)


def test_mismatching_profiles_name_the_columns():
    gate = profiles_match_source(3, {3: ["first_name", "email"]})
    assert not gate.passed
    assert gate.offenders == {3: "first_name, email differ"}
    assert gate.total == 3
    assert gate.summary == "1 of 3 profiles differ from the source in name or e-mail"
    assert profiles_match_source(3, {}).passed


def test_missing_and_duplicate_profiles_are_named():
    gate = every_clean_doctor_has_one_profile(3, {2: 0, 3: 2})
    assert not gate.passed
    assert gate.offenders == {2: "no doctor profile", 3: "2 doctor profiles"}
    assert gate.summary == ("1 of 3 clean doctors have exactly one doctor profile; 1 have none, "
                            "1 have more than one")
    assert every_clean_doctor_has_one_profile(1, {}).passed


def test_count_gate_compares_with_the_operators_number():
    assert clean_doctor_count_is_expected(1, 1).passed
    gate = clean_doctor_count_is_expected(1, 399)
    assert (gate.passed, gate.summary, gate.total, gate.offenders) == (
        False, "1 clean doctors in the source, 399 expected", 1, {})


def test_trimming_removes_what_python_strip_removes():
    every = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
    assert sorted(WHITESPACE) == sorted(every)


def test_another_doctor_on_the_profile_is_named_by_ids_with_the_ways_out():
    rows = [(3, "p3", "d1", None), (3, "p3", "d2", 8), (5, "p5", "d3", None)]
    gate = no_profile_has_another_doctor(40, rows)
    assert not gate.passed
    assert gate.offenders == {
        3: "profile p3 already has doctors row d1 (native); "
           "profile p3 already has doctors row d2 (migrated for legacy user 8)",
        5: "profile p5 already has doctors row d3 (native)"}
    assert gate.summary == ("2 of 40 clean doctors' profiles already have another doctors row; "
                            + ANOTHER_DOCTOR_ADVICE)
    assert another_doctor_stop(rows[2:]) == (
        "1 clean doctors' profiles already have another doctors row: legacy user 5: profile p5 "
        "already has doctors row d3 (native); " + ANOTHER_DOCTOR_ADVICE)
    passed = no_profile_has_another_doctor(40, [])
    assert (passed.passed, passed.summary) == (
        True, "0 of 40 clean doctors' profiles already have another doctors row")
