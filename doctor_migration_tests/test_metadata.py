"""What the asset catalog shows: offender lists and the accounting as sortable tables (at most
SHOWN rows, the total as a number beside them), each fact once, validation_report's
headline numbers as top-level numbers the UI plots over runs, and row counts that are the
tables' own: public.doctors' whole, the legacy tables' observed by every run."""

import dagster as dg
from psycopg import sql

from doctor_migration.defs.assets import COUNTED, ESTIMATED
from doctor_migration.defs.checks import SHOWN, table_rows
from doctor_migration.defs.sources import LEGACY_TABLES
from doctor_migration_tests.helpers import migrate
from doctor_migration_tests.test_stopped_runs_report import ACCOUNTING


def materialized(outcome, asset: str) -> dict:
    [event] = outcome.result.asset_materializations_for_node(asset)
    return dict(event.metadata)


def test_accounting_is_one_table_and_the_report_has_its_numbers(small_dbs):
    outcome = migrate(40)
    assert outcome.success, outcome.failures
    clean = materialized(outcome, "clean_doctors")
    accounting = clean["accounting"]
    assert isinstance(accounting, dg.TableMetadataValue)
    assert [c.name for c in accounting.schema.columns] == ["outcome", "users"]
    rows = [line.strip("| ").split(" | ") for line in ACCOUNTING.splitlines()[2:]]
    assert table_rows(accounting) == [[o, int(n)] for o, n in rows]
    # Once: no JSON or Markdown copy of it beside the table.
    assert [k for k, v in clean.items() if "accounting" in k] == ["accounting"]

    report = materialized(outcome, "validation_report")
    numbers = {k: v.value for k, v in report.items()
               if isinstance(v, (dg.IntMetadataValue, dg.FloatMetadataValue))}
    assert numbers == {"clean_doctors": 40, "inserted": 40, "updated": 0, "unchanged": 0,
                       "deleted": 0, "checks_passed": 16, "checks_failed": 0,
                       "load_seconds": report["load_seconds"].value}
    assert report["all_checks_passed"].value is True


def test_offenders_are_a_table_of_at_most_shown_rows_with_the_total(dbs):
    missing = dbs.world.clean_ids[:SHOWN + 2]
    with dbs.target() as conn:
        conn.execute("DELETE FROM public.profiles WHERE legacy_user_id = ANY(%s)", (missing,))
    outcome = migrate(399)
    assert not outcome.success
    [gate] = [e for e in outcome.result.get_asset_check_evaluations()
              if e.check_name == "every_clean_doctor_has_one_profile"]
    offenders = gate.metadata["offending_users"]
    assert isinstance(offenders, dg.TableMetadataValue)
    assert [c.name for c in offenders.schema.columns] == ["legacy_user_id", "problem"]
    assert table_rows(offenders) == [[uid, "no doctor profile"]
                                     for uid in sorted(missing)[:SHOWN]]
    assert gate.metadata["offenders"].value == SHOWN + 2
    assert "offending_legacy_ids" not in gate.metadata  # no JSON copy of the table


def observed(outcome, step: str) -> dict[str, dict]:
    """The metadata values of what the run's `step` observed, by asset."""
    return {e.asset_key.to_user_string(): {k: v.value for k, v in e.asset_observation_data
                                           .asset_observation.metadata.items()}
            for e in outcome.result.get_asset_observation_events() if e.step_key == step}


def test_row_counts_are_the_tables_own(small_dbs):
    """loaded_doctors' row count is public.doctors' count(*), native doctors included, and the
    migrated ones are migrated_rows; every run and plan observes the legacy tables' rows:
    auth_user's counted in its snapshot, the others' estimated from the source's catalog."""
    legacy = [spec.key.to_user_string() for spec in LEGACY_TABLES]
    with small_dbs.source() as conn:
        conn.execute("ANALYZE")  # the catalog's estimates are then exact
        rows = {name: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(name))).fetchone()[0] for name in legacy}
    expected = {name: {"dagster/row_count": rows[name],
                       "row_count_is_estimate": name != "auth_user",
                       "row_count_source": COUNTED if name == "auth_user" else ESTIMATED}
                for name in legacy}
    run = migrate(40)
    assert run.success, run.failures
    with small_dbs.target() as conn:
        doctors, native = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE legacy_user_id IS NULL) "
            "FROM public.doctors").fetchone()
    assert (doctors, native) == (45, 5)
    loaded = materialized(run, "loaded_doctors")
    assert (loaded["dagster/row_count"].value, loaded["migrated_rows"].value) == (45, 40)
    assert observed(run, "clean_doctors") == expected
    assert rows["auth_user"] == len(small_dbs.world.users)

    plan = migrate(40, dry_run=True)
    assert plan.success, plan.failures
    assert {k: v for k, v in observed(plan, "clean_doctors").items() if k in legacy} == expected
    load = observed(plan, "loaded_doctors")["loaded_doctors"]
    assert (load["rows"], load["migrated_rows"]) == (45, 40)
