"""Step 1.3's stop conditions as pure functions."""

import pandas as pd

from doctor_migration.migration.gates import (
    clean_doctor_count_is_expected,
    every_clean_doctor_has_one_profile,
    profiles_match_source,
)


def frame(*rows):
    columns = ["user_id", "first_name", "last_name", "email", "profile_count",
               "profile_first_name", "profile_last_name", "profile_email"]
    return pd.DataFrame(list(rows), columns=columns, dtype=object)


def test_names_and_emails_compare_trimmed_and_case_insensitive():
    clean = frame(
        (1, "Ana", "Lima", "ana@x.example.com", 1, " ANA ", "lima", "Ana@X.example.com  "),
        (2, "", "Solo", "", 1, None, "Solo", None),
        (3, "Bo", "Berg", "bo@x.example.com", 1, "Bob", "Berg", "bo@y.example.com"),
        (4, "Cy", "Cole", "cy@x.example.com", 0, None, None, None),
    )
    gate = profiles_match_source(clean)
    assert not gate.passed
    assert gate.offenders == {3: "first_name, email differ"}
    assert gate.total == 3


def test_missing_and_duplicate_profiles_are_named():
    clean = frame((1, "A", "B", "", 1, "A", "B", ""), (2, "C", "D", "", 0, None, None, None),
                  (3, "E", "F", "", 2, "E", "F", ""))
    gate = every_clean_doctor_has_one_profile(clean)
    assert not gate.passed
    assert gate.offenders == {2: "no doctor profile", 3: "2 doctor profiles"}
    assert every_clean_doctor_has_one_profile(clean[clean["user_id"] == 1]).passed


def test_count_gate_compares_with_the_operators_number():
    clean = frame((1, "A", "B", "", 1, "A", "B", ""))
    assert clean_doctor_count_is_expected(clean, 1).passed
    assert not clean_doctor_count_is_expected(clean, 399).passed
