"""One name for one thing: the check names, patterns and outcomes of doctor_migration.names are
the ones the definitions, the plan's SQL and the stage use, and no other file copies them."""

import re
from importlib.resources import files

from doctor_migration import names
from doctor_migration.definitions import defs
from doctor_migration.migration.db import load_sql

SQL = files("doctor_migration") / "sql"


def test_every_check_is_named_in_the_names_module():
    defined = {value for key, value in vars(names).items() if key.isupper()
               and isinstance(value, str)}
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert len(checks) == 16
    assert checks - defined == set()


def test_the_patterns_are_the_plans_step_1_1_literals():
    """select_clean_doctors.sql is the plan's step 1.1 as written: its LIKE literals are
    exactly the patterns every other statement binds."""
    literals = re.findall(r"LIKE '([^']*)'", load_sql("select_clean_doctors"))
    assert sorted(set(literals)) == sorted(names.TEST_ACCOUNT_PATTERNS.values())


def test_no_other_sql_file_copies_a_pattern_or_an_outcome():
    quoted = {f"'{p}'" for p in names.TEST_ACCOUNT_PATTERNS.values()} | {
        f"'{p.replace('%', '%%')}'" for p in names.TEST_ACCOUNT_PATTERNS.values()} | {
        f"'{r}'" for r in [*names.EXCLUSION_REASONS.values(), names.MIGRATED]}
    copies = {f.name: sorted(q for q in quoted if q in f.read_text())
              for f in SQL.iterdir() if f.name.endswith(".sql")
              and f.name != "select_clean_doctors.sql"}
    assert {name: found for name, found in copies.items() if found} == {}


def test_rules_are_named_as_the_step_3_3_sentence_says():
    assert {k: v for k, v in names.TEST_ACCOUNT_RULES.items() if k.endswith("_rule")} == {
        "test_rule": 'contains "test"', "demo_rule": 'contains "demo"',
        "internal_1_rule": 'ends with "brius.com"',
        "internal_2_rule": 'ends with "mechanodontics.com"'}
