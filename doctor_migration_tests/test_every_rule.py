"""Every rule of step 1.1 and 3.3 where exactly one thing differs (issue 22): each test-account
pattern, each exclusion rule alone and in pairs (the reason given is the first in
names.EXCLUSION_REASONS' order), each rule of step 3.3 on each side, and the mapping's dates
whichever side runs in another time zone.

The rules share one hand-made source, staged once; the step 3.3 cases edit the stage in a
transaction that is rolled back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import combinations

import psycopg
import pytest
from psycopg import sql

from doctor_migration import names
from doctor_migration.demo.world import LegacyWorld, generate_world
from doctor_migration.migration import accounting, db, explain
from doctor_migration.migration.gates import evaluate_gates
from doctor_migration_tests.helpers import gated, make_databases, mapped, years_since

T0 = datetime(2020, 5, 1, 12, tzinfo=UTC)
REASONS = names.EXCLUSION_REASONS
ORDER = list(REASONS)  # the order stated once, in names.py
# What makes a user fail each rule before the de-duplication, one at a time.
RULES = {
    "inactive": {"is_active": False},
    "no_settings_or_office": {"has_settings": False, "offices": 0},
    "no_active_patients": {"patients": [True]},  # archived only
    "test_account": {"first_name": "TESTa"},
}
# Each test-account pattern of step 1.1 alone (the e-mail ones in the other case than they
# are written: "test" and "demo" match the lower-cased e-mail), and an internal domain in
# capitals, which step 1.1 lets through.
PATTERNS = {
    "e-mail contains test": ({"email": "qa.TEST@smile.example.com"}, REASONS["test_account"]),
    "e-mail contains demo": ({"email": "Dr.DEMO@smile.example.com"}, REASONS["test_account"]),
    "first name contains test": ({"first_name": "Testa"}, REASONS["test_account"]),
    "last name contains test": ({"last_name": "ConTEST"}, REASONS["test_account"]),
    "e-mail ends with brius.com": ({"email": "ops@brius.com"}, REASONS["test_account"]),
    "e-mail ends with mechanodontics.com": ({"email": "lab@mechanodontics.com"},
                                            REASONS["test_account"]),
    "e-mail ends with BRIUS.COM": ({"email": "ops@BRIUS.COM"}, names.MIGRATED),
}


def first_reason(rules: tuple[str, ...]) -> str:
    return REASONS[min(rules, key=ORDER.index)]


# Every rule alone and every pair, each beside a clean partner that shares its de-duplication
# key (by e-mail, or by name for an empty e-mail) and that it would beat on every tie-break: a
# rule not applied before the de-duplication would make the partner a duplicate. A test
# account by name cannot share a name with a clean partner.
SETS = [c for n in (1, 2) for c in combinations(RULES, n)]
CASES = [(rules, key) for rules in SETS for key in ("e-mail", "name")
         if not (key == "name" and "test_account" in rules)]


def build() -> tuple[LegacyWorld, dict[str, dict[int, tuple[str, int | None]]]]:
    """The source, and for each case the (outcome, duplicate of) of each of its users."""
    world, expected = LegacyWorld(), {}

    def pair(name: str, n: int, loser: dict, reason: str, by: str) -> None:
        """A user (`loser` changed) and its clean partner, added after it; both keyed alike."""
        key = ({"email": f"case{n}@smile.example.com"} if by == "e-mail" else
               {"email": "", "first_name": f"Ana{n}", "last_name": "Lima"})
        user = world.add(**{"first_name": f"First{n}", "last_name": f"Last{n}",
                            "last_login": T0 + timedelta(days=1),
                            "patients": [False, False, False], **key, **loser})
        partner = world.add(**{"first_name": f"First{n}", "last_name": f"Last{n}",
                               "last_login": T0, "patients": [False, None], **key})
        duplicate = reason in (REASONS["duplicate_by_email"], REASONS["duplicate_by_name"])
        expected[name] = {user.id: (reason, partner.id if duplicate else None),
                          partner.id: (names.MIGRATED, None)}

    for n, (rules, key) in enumerate(CASES):
        loser = {k: v for rule in rules for k, v in RULES[rule].items()}
        pair(f"{' and '.join(rules)}, partner by {key}", n, loser, first_reason(rules), key)
    pair("duplicate by e-mail", len(CASES), {"patients": [False]},
         REASONS["duplicate_by_email"], "e-mail")
    pair("duplicate by name", len(CASES) + 1, {"patients": [False]},
         REASONS["duplicate_by_name"], "name")
    for n, (name, (spec, outcome)) in enumerate(PATTERNS.items()):
        user = world.add(**{"first_name": f"Solo{n}", "last_name": f"Alone{n}",
                            "email": f"solo{n}@smile.example.com", "last_login": T0, **spec})
        expected[name] = {user.id: (outcome, None)}
    return world, expected


WORLD, EXPECTED = build()
STAGE = "rules-stage"


@pytest.fixture(scope="module")
def rules_dbs(servers):
    """The source staged once (step 1.1 and every user's outcome), as a run's first step does."""
    dbs = make_databases(servers, WORLD)
    gated(dbs, STAGE)
    return dbs


def staged_outcomes(dbs) -> dict[int, tuple[str, int | None]]:
    with dbs.target() as conn:
        return {uid: (outcome, duplicate_of) for uid, outcome, duplicate_of in conn.execute(
            "SELECT user_id, outcome, duplicate_of FROM doctor_migration.source_users "
            "WHERE run_id = %s", (STAGE,))}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_each_user_gets_the_first_reason_that_excludes_it(rules_dbs, case):
    dbs = rules_dbs
    """The outcome of the run's accounting, of explain before any stage (one user's query) and
    of the plan's own SQL agree, and the reason is the first rule in names.py's order."""
    expected = EXPECTED[case]
    outcomes = staged_outcomes(dbs)
    assert {uid: outcomes[uid] for uid in expected} == expected
    with db.connect(dbs.source_url, "source") as source:
        for uid, (outcome, duplicate_of) in expected.items():
            alone = accounting.fetch_user_outcomes(source, uid)
            assert (alone["outcome"], alone["duplicate_of"]) == (outcome, duplicate_of), uid
    with dbs.target() as conn:
        clean = {r[0] for r in conn.execute("SELECT user_id FROM doctor_migration.clean_doctors "
                                            "WHERE run_id = %s", (STAGE,))}
    assert {uid for uid in expected if uid in clean} == {
        uid for uid, (outcome, _) in expected.items() if outcome == names.MIGRATED}


@pytest.mark.parametrize("case", [c for c in EXPECTED if "partner" in c or "duplicate" in c])
def test_explain_gives_the_first_reason(rules_dbs, case):
    dbs = rules_dbs
    (uid, (reason, duplicate_of)), _ = EXPECTED[case].items()
    with db.connect(dbs.target_url, "target") as target:
        first = explain.explain_user(partial(db.connect, dbs.source_url, "source"), target,
                                     uid)[0]
    if duplicate_of is None:
        assert first == f"legacy user {uid}: not migrated: {reason} ({explain.RULES[reason]})"
    else:
        assert first == (f"legacy user {uid}: not migrated: {reason} of user {duplicate_of}, "
                         "which step 1.1 kept (more active patients, then the later login, "
                         "then the lower id)")


def test_the_accounting_adds_up_by_reason(rules_dbs):
    dbs = rules_dbs
    everyone = {uid: v for case in EXPECTED.values() for uid, v in case.items()}
    by_outcome: dict[str, int] = {}
    for outcome, _ in everyone.values():
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
    with db.connect(dbs.target_url, "target") as conn:
        tally = accounting.tally(conn, STAGE)
    assert (tally.source_users, tally.by_outcome) == (len(everyone), by_outcome)
    assert accounting.every_source_user_accounted_for(tally).passed


# An e-mail per rule of step 3.3 that matches that rule only, and how the gate names it.
STEP_3_3 = {
    "test": ("qa.TEST@smile.example.com", 'contains "test"'),
    "demo": ("Dr.DEMO@smile.example.com", 'contains "demo"'),
    "internal_1": ("ops@brius.com", 'ends with "brius.com"'),
    "internal_2": ("lab@mechanodontics.com", 'ends with "mechanodontics.com"'),
}
SIDES = {"source": ("clean_doctors", "user_id"), "profile": ("profile_coverage", "legacy_user_id")}


def step_3_3_gate(conn: psycopg.Connection):
    [gate] = [g for g in evaluate_gates(conn, STAGE, expected=0)
              if g.name == names.NO_CLEAN_DOCTOR_FAILS_STEP_3_3]
    return gate


@pytest.mark.parametrize("side", list(SIDES))
@pytest.mark.parametrize("rule", list(STEP_3_3))
def test_step_3_3_is_predicted_for_every_rule_on_each_side(rules_dbs, rule, side):
    dbs = rules_dbs
    """A clean doctor's e-mail in the stage, on one side, matches one rule of step 3.3: the gate
    names that doctor, the side and the rule, before anything is written."""
    uid = min(uid for case in EXPECTED.values() for uid, (outcome, _) in case.items()
              if outcome == names.MIGRATED)
    email, said = STEP_3_3[rule]
    table, column = SIDES[side]
    with db.connect(dbs.target_url, "target") as conn, conn.transaction(force_rollback=True):
        assert step_3_3_gate(conn).passed
        conn.execute(sql.SQL("UPDATE {} SET email = %s WHERE run_id = %s AND {} = %s").format(
            sql.Identifier("doctor_migration", table), sql.Identifier(column)),
            (email, STAGE, uid))
        gate = step_3_3_gate(conn)
    assert (gate.passed, gate.offenders) == (False, {uid: f"{side} e-mail {said}"})


# Users whose date_joined is a second either side of midnight UTC (users 8 and 9 of the small
# world): in a time zone east or west of UTC, one of them falls on another day.
@pytest.mark.parametrize("zone", ["Pacific/Auckland", "America/New_York"])
@pytest.mark.parametrize("side", ["source", "target"])
def test_the_mapping_is_in_utc_whatever_the_time_zone_of_either_side(servers, side, zone):
    world = generate_world(40, seed=11)
    dbs = make_databases(servers, world)
    with (dbs.source() if side == "source" else dbs.target()) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET TimeZone = {}").format(
            sql.Identifier(conn.info.dbname), sql.Literal(zone)))
    mapped(dbs, "zoned", gated(dbs, "zoned"))
    with dbs.target() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        today = conn.execute("SELECT current_date").fetchone()[0]
        rows = conn.execute("SELECT legacy_user_id, licensed_since, joined_practice_at, "
                            "years_experience FROM doctor_migration.doctor_rows "
                            "WHERE run_id = 'zoned'").fetchall()
    assert {8, 9} <= {r[0] for r in rows}
    assert sorted(rows) == sorted(
        (uid, world.user(uid).date_joined.astimezone(UTC).date(), world.user(uid).date_joined,
         years_since(world.user(uid).date_joined, today)) for uid in world.clean_ids)


def test_explain_reads_a_source_in_another_time_zone_in_utc(servers):
    """Before any stage, explain reads the user from the source: a last login in year 1 is 1 BC
    in a New York session, which Python cannot hold; the source is read in UTC."""
    world = LegacyWorld()
    world.add(first_name="Ana", last_name="Lima", email="ana@smile.example.com",
              last_login=datetime(1, 1, 1, tzinfo=UTC))
    dbs = make_databases(servers, world, with_target=False)
    with dbs.source() as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} SET TimeZone = 'America/New_York'").format(
            sql.Identifier(conn.info.dbname)))
    lines = explain.explain_user(partial(db.connect, dbs.source_url, "source"), None, 1)
    assert lines[:2] == [
        "legacy user 1: migrated (a clean doctor of step 1.1, de-duplicated by e-mail)",
        "  active: yes; settings: yes; office: yes; active patients: 1; archived patients: 0; "
        "last login: 0001-01-01T00:00:00Z"]
