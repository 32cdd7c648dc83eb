"""The mutation check (issue 22; not part of CI): small realistic bugs planted one at a time in
the rules, each in a scratch copy of the working tree, against the tests that should catch it.

    .venv/bin/python benchmarks/mutants.py              # every mutant (about 15 minutes)
    .venv/bin/python benchmarks/mutants.py --list       # the mutants and their tests
    .venv/bin/python benchmarks/mutants.py --only NAME  # some of them

A mutant is (file, exact old text, new text, the test node ids that should catch it). The copy
holds the repository's tracked and untracked (not ignored) files as they are now; its tests
run with this interpreter (the repo's .venv) and PYTHONPATH set to the copy, `pytest -x -q`
on the named tests only. Every named test first passes on the unmutated copy (the baseline);
then a mutant is killed when one of them fails. A survivor the tests cannot catch because the
behaviour really does not change is listed as equivalent, with its reason. Exit status 0 when
every mutant that is not equivalent is killed, else 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SQL = "doctor_migration/sql/"
PY = "doctor_migration/migration/"
DIFFERS = "doctor_migration_tests/test_one_thing_differs.py::"
RULE = "doctor_migration_tests/test_every_rule.py::"
COLUMN = DIFFERS + "test_a_row_that_differs_in_one_mapped_column[{}]"
REFUSAL = DIFFERS + "test_a_rollback_refuses_for_every_action_of_the_ledger[{}]"
ON_DELETE = DIFFERS + "test_a_referenced_row_is_never_deleted_whatever_its_foreign_key_does[{}]"
REASON = RULE + "test_each_user_gets_the_first_reason_that_excludes_it[{}]"
EXPLAIN = RULE + "test_explain_gives_the_first_reason[{}]"
PREDICTED = RULE + "test_step_3_3_is_predicted_for_every_rule_on_each_side[{}]"
ZONES = RULE + "test_the_mapping_is_in_utc_whatever_the_time_zone_of_either_side[{}]"
AFTER_LOAD = DIFFERS + "test_step_3_3_after_the_load_rolls_back_on_every_rule[{}]"
SEAL = "doctor_migration_tests/test_seal.py::"
BOUND = "doctor_migration_tests/test_delete_bound.py::"
MAPPING = "doctor_migration_tests/migration/test_mapping.py::"
STOPS = "doctor_migration_tests/test_stop_conditions.py::"
DIGEST = "doctor_migration_tests/test_rollback_digest.py::"


@dataclass(frozen=True)
class Mutant:
    """One planted bug: `old` (found exactly once in `file`) becomes `new`."""

    name: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    equivalent: str = ""  # why the behaviour does not change, for a survivor we keep


MUTANTS = [
    # Classify (the load's comparison of the staged rows with the target's).
    Mutant("classify ignores years_experience", SQL + "classify_doctor_changes.sql",
           "d.education::jsonb, d.years_experience,", "d.education::jsonb, s.years_experience,",
           (COLUMN.format("years_experience"),)),
    Mutant("classify ignores joined_practice_at", SQL + "classify_doctor_changes.sql",
           "d.licensed_since, d.joined_practice_at,", "d.licensed_since, s.joined_practice_at,",
           (COLUMN.format("joined_practice_at"),)),
    Mutant("classify ignores migration_metadata", SQL + "classify_doctor_changes.sql",
           "THEN d.migration_metadata::jsonb - 'migration_date'",
           "THEN s.migration_metadata::jsonb - 'migration_date'",
           (COLUMN.format("migration_metadata"),)),
    Mutant("classify ignores profile_id", SQL + "classify_doctor_changes.sql",
           "        d.profile_id, d.doctor_id,", "        s.profile_id, d.doctor_id,",
           (COLUMN.format("profile_id"),)),
    # The update (step 2.2 on a row that exists).
    Mutant("update leaves bio", SQL + "update_doctors.sql", "        bio = s.bio,\n", "",
           (COLUMN.format("bio"),)),
    Mutant("update keeps licensed_since", SQL + "update_doctors.sql",
           "licensed_since = s.licensed_since,", "licensed_since = d.licensed_since,",
           (COLUMN.format("licensed_since"),)),
    Mutant("update leaves specialties", SQL + "update_doctors.sql",
           "        specialties = s.specialties,\n", "", (COLUMN.format("specialties"),)),
    # The reconciliation.
    Mutant("reconciliation ignores consultation_fee", SQL + "select_mapping_mismatches.sql",
           "               CASE WHEN d.consultation_fee IS DISTINCT FROM s.consultation_fee "
           "THEN 'consultation_fee' END,\n", "", (COLUMN.format("consultation_fee"),)),
    Mutant("reconciliation ignores profile_id", SQL + "select_mapping_mismatches.sql",
           "CASE WHEN d.profile_id IS DISTINCT FROM s.profile_id THEN 'profile_id' END",
           "CASE WHEN false THEN 'profile_id' END", (COLUMN.format("profile_id"),)),
    # The mapping (steps 2.2, 2.3) and its time zone.
    Mutant("target transaction not in UTC", SQL + "set_transaction_settings.sql",
           "set_config('TimeZone', 'UTC', true);",
           "set_config('TimeZone', current_setting('TimeZone'), true);",
           (ZONES.format("target-Pacific/Auckland"), ZONES.format("target-America/New_York"))),
    Mutant("source transaction not in UTC", SQL + "set_source_time_zone.sql",
           "SELECT set_config('TimeZone', 'UTC', true);",
           "SELECT set_config('TimeZone', current_setting('TimeZone'), true);",
           (RULE + "test_explain_reads_a_source_in_another_time_zone_in_utc",
            ZONES.format("source-Pacific/Auckland"))),
    Mutant("doctor_number without its dash", SQL + "insert_doctor_rows.sql",
           "'DOC-' || cd.user_id,", "'DOC' || cd.user_id,",
           (MAPPING + "test_migrated_rows_equal_the_plans_mapping",)),
    Mutant("a blank e-mail counts as e-mail priority", SQL + "insert_doctor_rows.sql",
           "WHEN cd.email IS NOT NULL AND cd.email <> ''", "WHEN cd.email IS NOT NULL",
           (MAPPING + "test_migrated_rows_equal_the_plans_mapping",)),
    # Step 3.3, predicted by the gate and checked after the load.
    Mutant("gate 3.3 without mechanodontics.com", SQL + "select_gate_offenders.sql",
           "CASE WHEN c.email LIKE %(internal_2)s THEN", "CASE WHEN false THEN",
           (PREDICTED.format("internal_2-source"),)),
    Mutant("gate 3.3 reads the source side only", SQL + "select_gate_offenders.sql",
           "coalesce(p.rules, '{}') AS profile_rules", "'{}'::text[] AS profile_rules",
           (PREDICTED.format("test-profile"), PREDICTED.format("internal_1-profile"))),
    Mutant("gate 3.3 test rule not lower-cased", SQL + "select_gate_offenders.sql",
           "CASE WHEN lower(c.email) LIKE %(test)s", "CASE WHEN c.email LIKE %(test)s",
           (PREDICTED.format("test-source"),)),
    Mutant("step 3.3 after the load without mechanodontics.com", SQL + "validate_doctors.sql",
           "\n                 OR p.email LIKE %(internal_2)s)", ")",
           (AFTER_LOAD.format("internal_2"),)),
    Mutant("step 3.3 after the load demo not lower-cased", SQL + "validate_doctors.sql",
           "LOWER(p.email) LIKE %(demo)s", "p.email LIKE %(demo)s", (AFTER_LOAD.format("demo"),)),
    # Step 1.1's accounting (every source user's outcome) and explain.
    Mutant("patients before settings in the reasons", SQL + "select_user_outcomes.sql",
           "         WHEN NOT (u.has_settings OR u.has_office_assignment) THEN "
           "%(no_settings_or_office)s\n         WHEN u.patient_count = 0 THEN "
           "%(no_active_patients)s\n",
           "         WHEN u.patient_count = 0 THEN %(no_active_patients)s\n         WHEN NOT "
           "(u.has_settings OR u.has_office_assignment) THEN %(no_settings_or_office)s\n",
           (REASON.format("no_settings_or_office and no_active_patients, partner by e-mail"),)),
    Mutant("test accounts before inactive in the reasons", SQL + "select_user_outcomes.sql",
           "         WHEN NOT u.is_active THEN %(inactive)s\n",
           "         WHEN NOT u.not_test_account THEN %(test_account)s\n"
           "         WHEN NOT u.is_active THEN %(inactive)s\n",
           (REASON.format("inactive and test_account, partner by e-mail"),)),
    Mutant("test accounts take part in the de-duplication", SQL + "select_user_outcomes.sql",
           "      AND u.not_test_account\n", "",
           (REASON.format("test_account, partner by e-mail"),)),
    Mutant("inactive users take part in the de-duplication", SQL + "select_user_outcomes.sql",
           "    WHERE u.is_active\n      AND (u.has_settings", "    WHERE (u.has_settings",
           (REASON.format("inactive, partner by e-mail"),
            REASON.format("inactive, partner by name"))),
    Mutant("accounting without mechanodontics.com", SQL + "select_user_outcomes.sql",
           "               au.email LIKE %(internal_1)s OR\n               au.email LIKE "
           "%(internal_2)s\n", "               au.email LIKE %(internal_1)s\n",
           (REASON.format("e-mail ends with mechanodontics.com"),)),
    Mutant("accounting's name rule on first names only", SQL + "select_user_outcomes.sql",
           "               LOWER(au.last_name) LIKE %(test)s OR\n", "",
           (REASON.format("last name contains test"),)),
    Mutant("one user's outcome without its duplicates", SQL + "select_user_outcomes.sql",
           "       OR au.id = %(user_id)s::integer\n       OR CASE",
           "       OR au.id = %(user_id)s::integer\n       OR false AND CASE",
           (REASON.format("duplicate by e-mail"),)),
    Mutant("duplicates by name called by e-mail", SQL + "select_user_outcomes.sql",
           "WHEN e.rank > 1 AND u.dedup_by = 'e-mail'", "WHEN e.rank > 1 AND u.dedup_by = 'name'",
           (REASON.format("duplicate by e-mail"), REASON.format("duplicate by name"))),
    Mutant("the duplicate with fewer patients kept", SQL + "select_user_outcomes.sql",
           "ORDER BY u.patient_count DESC, u.last_login", "ORDER BY u.patient_count ASC, "
           "u.last_login", (REASON.format("duplicate by e-mail"),)),
    Mutant("explain tells a duplicate by name as a rule", PY + "explain.py",
           'elif outcome in (REASONS["duplicate_by_email"], REASONS["duplicate_by_name"]):',
           'elif outcome == REASONS["duplicate_by_email"]:',
           (EXPLAIN.format("duplicate by name"),)),
    # The rollback's refusals (ledger).
    Mutant("changed-since refusal for inserted rows only",
           SQL + "select_rows_changed_since_run.sql",
           "                OR {image} IS DISTINCT FROM",
           "                OR r.action = 'insert' AND {image} IS DISTINCT FROM",
           (REFUSAL.format("edited-update"),)),
    Mutant("a deleted row that is back is not seen", SQL + "select_rows_changed_since_run.sql",
           "WHERE CASE WHEN r.action = 'delete' THEN d.id IS NOT NULL",
           "WHERE CASE WHEN r.action = 'delete' THEN false", (REFUSAL.format("recreated-delete"),)),
    Mutant("later runs matched by doctors row only", SQL + "select_later_runs_touching.sql",
           "ON theirs.doctor_id = mine.doctor_id OR theirs.legacy_user_id = mine.legacy_user_id",
           "ON theirs.doctor_id = mine.doctor_id", (REFUSAL.format("later run-delete"),)),
    Mutant("two rows per legacy user allowed after a rollback",
           SQL + "select_duplicate_doctors_of_run.sql", "HAVING count(*) > 1",
           "HAVING count(*) > 2",
           (REFUSAL.format("another row-delete"), REFUSAL.format("another row-update"))),
    Mutant("rollback checks references of deleted rows", PY + "ledger.py",
           '{"run_id": run_id, "action": "insert"}', '{"run_id": run_id, "action": "delete"}',
           (REFUSAL.format("referenced-insert"), ON_DELETE.format("rollback-CASCADE"))),
    Mutant("rollback compares columns the target's triggers rewrite", PY + "ledger.py",
           "        rewritten = rewritten_columns(conn, columns, run_id)\n",
           "        rewritten = []\n", (REFUSAL.format("referenced-update"),)),
    Mutant("an inserted row's digest is not compared", SQL + "select_rows_changed_since_run.sql",
           "                OR {digest} IS DISTINCT FROM r.after_digest",
           "                OR false AND {digest} IS DISTINCT FROM r.after_digest",
           (DIGEST + "test_inserted_rows_edited_after_the_run_are_refused_naming_their_columns",)),
    Mutant("the trigger probe writes timestamps as they are", PY + "ledger.py",
           "interval '1 microsecond'", "interval '0'",
           (DIGEST + "test_an_inserted_row_updated_and_set_back_is_removed_exactly",)),
    Mutant("a refusal does not ask the stage which columns changed", PY + "ledger.py",
           "            **_staged_differences(conn, recorded.stage_id, columns, edited)}",
           "            }",
           (DIGEST + "test_inserted_rows_edited_after_the_run_are_refused_naming_their_columns",)),
    # The reference check before a delete.
    Mutant("only foreign keys that block a delete are checked",
           SQL + "select_doctor_foreign_keys.sql",
           "  AND con.confrelid = 'public.doctors'::regclass\n",
           "  AND con.confrelid = 'public.doctors'::regclass\n"
           "  AND con.confdeltype IN ('a', 'r')\n",
           tuple(ON_DELETE.format(f"{path}-{action}") for path in ("load", "rollback")
                 for action in ("CASCADE", "SET NULL", "SET DEFAULT"))),
    Mutant("the load checks the references of updated rows", SQL + "select_doctors_to_delete.sql",
           "WHERE action = 'delete'", "WHERE action = 'update'",
           tuple(ON_DELETE.format(f"load-{action}") for action in ("NO ACTION", "CASCADE"))),
    Mutant("the delete also takes native rows", SQL + "delete_doctors.sql",
           "\n  AND d.legacy_user_id IS NOT NULL", "",
           (ON_DELETE.format("load-CASCADE"),),
           equivalent="the delete takes the rows classify_doctor_changes.sql marked 'delete', "
                      "which are migrated rows only; the condition is a second guard"),
    # The delete bound (load.py) and the seal (seal.py).
    Mutant("the delete limit is exclusive", PY + "load.py",
           "if result.deleted <= result.delete_limit:", "if result.deleted < result.delete_limit:",
           (BOUND + "test_deletes_within_the_limit_need_no_setting",)),
    Mutant("the delete limit rounds down", PY + "load.py",
           "-(-migrated_before * DELETE_LIMIT_PERCENT // 100)",
           "migrated_before * DELETE_LIMIT_PERCENT // 100",
           (BOUND + "test_the_limit_is_the_larger_of_ten_and_five_percent_unless_given"
                    "[201-None-11]",)),
    Mutant("the delete limit counts the rows kept only", PY + "load.py",
           "result.updated + result.unchanged + result.deleted",
           "result.updated + result.unchanged",
           (BOUND + "test_a_run_that_would_delete_more_than_the_limit_stops_before_any_write"
                    "[command line]",)),
    Mutant("the seal compares counts only", PY + "seal.py",
           "if (rows, digest) == (seal.rows, seal.digest):", "if rows == seal.rows:",
           (SEAL + "test_a_load_writes_nothing_when_doctor_rows_changed_after_their_step"
                   "[one bio edited]",)),
    Mutant("the seal of another stage accepted", PY + "seal.py",
           "    if seal.stage_id != stage_id:\n", "    if seal.stage_id != seal.stage_id:\n",
           (SEAL + "test_a_seal_of_another_stage_is_refused",)),
    # The gates of step 1.3.
    Mutant("the count gate accepts fewer doctors", PY + "gates.py",
           "passed=clean == expected,", "passed=clean <= expected,",
           (STOPS + "test_wrong_count_stops_before_any_write",)),
]


def scratch_copy() -> Path:
    """The working tree's tracked and untracked (not ignored) files, in a temporary folder."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, check=True, capture_output=True).stdout.split(b"\0")
    copy = Path(tempfile.mkdtemp(prefix="doctor-migration-mutants-"))
    for name in filter(None, (f.decode() for f in files)):
        source = REPO / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


def environment(copy: Path) -> dict[str, str]:
    """This interpreter's environment with the copy first on the import path."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    found = subprocess.run([sys.executable, "-c", "import doctor_migration; "
                            "print(doctor_migration.__file__)"], env=env, cwd=copy,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).is_relative_to(copy):
        sys.exit(f"the copy's package is not the one imported ({found}): install the project "
                 "in this interpreter first (pip install -e '.[test]')")
    return env


def pytest(copy: Path, env: dict[str, str], tests: tuple[str, ...]) -> tuple[int, str]:
    """`pytest -x -q` on `tests` in the copy: exit status and the output's last lines."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                           *tests], cwd=copy, env=env, capture_output=True, text=True)
    return done.returncode, "\n".join((done.stdout + done.stderr).strip().splitlines()[-3:])


def check(mutant: Mutant, copy: Path, env: dict[str, str]) -> tuple[bool, str]:
    """Plant the mutant in the copy, run its tests, take it out: (killed, last lines)."""
    path = copy / mutant.file
    original = path.read_text()
    path.write_text(original.replace(mutant.old, mutant.new))
    try:
        code, tail = pytest(copy, env, mutant.tests)
    finally:
        path.write_text(original)
    return code != 0, tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="the mutants whose name contains NAME")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if not args.only or any(o in m.name for o in args.only)]
    if args.list:
        for m in mutants:
            print(f"{m.name}: {m.file}\n  " + "\n  ".join(m.tests))
        return 0
    for m in mutants:
        found = (REPO / m.file).read_text().count(m.old)
        if found != 1:
            print(f"mutant {m.name!r}: its old text is found {found} times in {m.file}, not "
                  "once: update the mutant")
            return 2
    copy = scratch_copy()
    try:
        env = environment(copy)
        tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
        started = time.monotonic()
        code, tail = pytest(copy, env, tests)
        if code != 0:
            print(f"baseline: the named tests fail without any mutant:\n{tail}")
            return 1
        print(f"baseline: {len(tests)} tests pass unmutated ({time.monotonic() - started:.0f}s)")
        survivors, equivalent = [], []
        for n, mutant in enumerate(mutants, 1):
            started = time.monotonic()
            killed, tail = check(mutant, copy, env)
            verdict = "killed" if killed else ("survived (equivalent)" if mutant.equivalent
                                               else "SURVIVED")
            print(f"[{n}/{len(mutants)}] {verdict}: {mutant.name} "
                  f"({time.monotonic() - started:.0f}s)", flush=True)
            failed = [line for line in tail.splitlines() if line.startswith(("FAILED", "ERROR"))]
            print("".join(f"    {line}\n" for line in failed), end="", flush=True)
            if not killed:
                (equivalent if mutant.equivalent else survivors).append(mutant)
        killed = len(mutants) - len(survivors) - len(equivalent)
        print(f"\nscore: {killed} of {len(mutants)} mutants killed; {len(equivalent)} equivalent, "
              f"{len(survivors)} survived")
        for m in equivalent:
            print(f"  equivalent: {m.name} ({m.file}): {m.equivalent}")
        for m in survivors:
            print(f"  SURVIVED: {m.name} ({m.file}): {' '.join(m.tests)}")
        return 1 if survivors else 0
    finally:
        shutil.rmtree(copy, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
