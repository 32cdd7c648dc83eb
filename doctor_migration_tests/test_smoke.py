"""The whole graph on the default world, and the definitions as the UI loads them."""

import dagster as dg

from doctor_migration.definitions import defs
from doctor_migration_tests.helpers import doctors, migrate


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert {k.to_user_string() for k in defs.resolve_asset_graph().materializable_asset_keys} == {
        "profile_coverage", "clean_doctors", "doctor_rows", "loaded_doctors", "validation_report"}


def test_migrate_default_world(dbs):
    outcome = migrate(399)
    assert outcome.success, outcome.failures
    assert outcome.exit_code == 0
    migrated = doctors(dbs.target_url, "legacy_user_id IS NOT NULL")
    assert sorted(d["legacy_user_id"] for d in migrated.values()) == dbs.world.clean_ids
    assert "| inserted | 399 |" in outcome.report
