"""Step 1.1: the plan's SQL, run as written, on generated worlds and on one case per rule."""

from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from doctor_migration.demo.world import LegacyWorld, generate_world
from doctor_migration.migration.selection import fetch_clean_doctors
from doctor_migration_tests.helpers import make_databases

T0 = datetime(2020, 5, 1, 12, tzinfo=timezone.utc)


def clean_ids(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return sorted(int(i) for i in fetch_clean_doctors(conn)["user_id"])


def selected(servers, *users: dict) -> list[int]:
    """The ids step 1.1 selects from a source holding exactly `users` (ids 1, 2, ...)."""
    world = LegacyWorld()
    for n, spec in enumerate(users):
        spec = {"first_name": f"First{n}", "last_name": f"Last{n}",
                "email": f"doctor{n}@smile.example.com", "last_login": T0, **spec}
        world.add(**spec)
    return clean_ids(make_databases(servers, world, with_target=False).source_url)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_world_selects_exactly_the_clean_doctors(servers, seed):
    world = generate_world(150, seed=seed)
    dbs = make_databases(servers, world, with_target=False)
    assert clean_ids(dbs.source_url) == world.clean_ids
    assert len(world.clean_ids) == 150


def test_every_trap_of_the_default_world_is_excluded(servers):
    world = generate_world(399)
    kinds = {u.kind for u in world.users} - {"clean"}
    assert kinds >= {"inactive", "no_settings_no_office", "only_archived_patients",
                     "no_patients", "test_account", "duplicate_fewer_patients",
                     "duplicate_older_login", "duplicate_higher_id", "duplicate_by_name"}
    ids = set(clean_ids(make_databases(servers, world, with_target=False).source_url))
    for kind in kinds:
        assert not ids & {u.id for u in world.by_kind(kind)}, kind


def test_inactive_user_is_excluded(servers):
    assert selected(servers, {"is_active": False}, {}) == [2]


def test_settings_or_office_is_required(servers):
    assert selected(servers,
                    {"has_settings": False, "offices": 0},
                    {"has_settings": True, "offices": 0},
                    {"has_settings": False, "offices": 1}) == [2, 3]


def test_several_offices_give_one_row_with_office_flag(servers):
    world = LegacyWorld()
    world.add(first_name="A", last_name="B", email="a@smile.example.com", has_settings=False,
              offices=3, patients=[False, False])
    dbs = make_databases(servers, world, with_target=False)
    with psycopg.connect(dbs.source_url) as conn:
        clean = fetch_clean_doctors(conn)
    assert clean["user_id"].tolist() == [1]
    assert bool(clean["has_office_assignment"][0]) is True
    assert bool(clean["has_settings"][0]) is False
    assert int(clean["patient_count"][0]) == 2


def test_null_archived_counts_as_active_and_archived_does_not(servers):
    world = LegacyWorld()
    world.add(first_name="A", last_name="A", email="a@x.example.com", patients=[None])
    world.add(first_name="B", last_name="B", email="b@x.example.com", patients=[True, True])
    world.add(first_name="C", last_name="C", email="c@x.example.com",
              patients=[None, False, True])
    dbs = make_databases(servers, world, with_target=False)
    with psycopg.connect(dbs.source_url) as conn:
        clean = fetch_clean_doctors(conn).set_index("user_id")
    assert sorted(clean.index) == [1, 3]
    assert int(clean.loc[1, "patient_count"]) == 1
    assert int(clean.loc[3, "patient_count"]) == 2


def test_user_without_patients_is_excluded(servers):
    assert selected(servers, {"patients": []}, {}) == [2]


@pytest.mark.parametrize("spec", [
    {"email": "qa.TEST@smile.example.com"},
    {"email": "someone.demo@smile.example.com"},
    {"first_name": "Testa"},
    {"last_name": "Contest"},
    {"email": "ops@brius.com"},
    {"email": "lab@mechanodontics.com"},
])
def test_test_demo_and_internal_accounts_are_excluded(servers, spec):
    assert selected(servers, spec, {}) == [2]


def test_internal_domains_match_case_sensitively_as_the_plan_writes_them(servers):
    # The plan's `au.email LIKE '%brius.com'` is case-sensitive: the SQL is the specification.
    assert selected(servers, {"email": "ops@BRIUS.COM"}) == [1]


def test_duplicate_email_keeps_most_patients_across_case_and_spacing(servers):
    assert selected(servers,
                    {"email": "Dr.Who@Smile.example.com", "patients": [False]},
                    {"email": "  dr.who@smile.example.com ", "patients": [False, None]}) == [2]


def test_duplicate_email_with_equal_patients_keeps_latest_login(servers):
    assert selected(servers,
                    {"email": "same@x.example.com", "last_login": T0 + timedelta(days=1)},
                    {"email": "SAME@x.example.com", "last_login": T0}) == [1]


def test_never_logged_in_loses_to_a_login(servers):
    assert selected(servers,
                    {"email": "same@x.example.com", "last_login": None},
                    {"email": "same@x.example.com", "last_login": T0}) == [2]


def test_duplicate_email_with_equal_patients_and_login_keeps_lowest_id(servers):
    assert selected(servers,
                    {"email": "same@x.example.com"},
                    {"email": "same@x.example.com"}) == [1]


def test_empty_email_deduplicates_by_first_last_name(servers):
    assert selected(servers,
                    {"email": "", "first_name": "Ana ", "last_name": "Lima", "patients": [False]},
                    {"email": "", "first_name": " ANA", "last_name": "lima",
                     "patients": [False, False]},
                    {"email": "", "first_name": "Ana", "last_name": "Other"}) == [2, 3]


def test_whitespace_only_emails_share_one_key_as_the_plan_writes_it(servers):
    # '  ' is not '' so the plan keys it by TRIM(LOWER(email)) = '': all such users collapse.
    assert selected(servers,
                    {"email": "   ", "first_name": "A", "patients": [False]},
                    {"email": " ", "first_name": "B", "patients": [False, False]}) == [2]


def test_select_only_role_without_temp_privilege_can_run_step_1_1(servers):
    world = generate_world(30, seed=5)
    dbs = make_databases(servers, world, with_target=False)  # the source URL is the reader's
    with psycopg.connect(dbs.source_url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TEMP TABLE t (x int)")
    assert clean_ids(dbs.source_url) == world.clean_ids


def test_source_transaction_is_read_only_repeatable_read(servers):
    dbs = make_databases(servers, generate_world(10, seed=3), with_target=False)
    with psycopg.connect(dbs.source_url) as conn:
        fetch_clean_doctors(conn)
        assert conn.read_only is True
        assert conn.isolation_level == psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute("CREATE TEMP TABLE t (x int)")
