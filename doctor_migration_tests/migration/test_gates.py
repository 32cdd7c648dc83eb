"""Step 1.3's stop conditions: the verdicts and the sentences, from the offenders the SQL over
the stage returns (test_stop_conditions.py runs them against real databases)."""

from doctor_migration.migration.gates import (
    WHITESPACE,
    clean_doctor_count_is_expected,
    every_clean_doctor_has_one_profile,
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
