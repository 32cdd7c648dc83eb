"""The code location as the UI and `dg` see it: every button runs in process, every launchpad
opens with every parameter at its described default, each run-wide setting in one place, the
lineage starts at the source tables, every table is in the catalog with its columns and owners
before any run, and `dg check defs` / `dg list defs` load the project."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from doctor_migration.defs.config import migration_run_config
from doctor_migration.definitions import defs
from doctor_migration.migration.mapping import MAPPED_COLUMNS

REPO = Path(__file__).resolve().parents[1]
LEGACY_TABLES = {"auth_user", "dispatch_usersetting", "dispatch_office_doctors",
                 "dispatch_patient"}


def test_every_button_runs_in_process():
    # "Materialize all" and a single asset launched from the UI run as the implicit asset job.
    jobs = [defs.resolve_implicit_global_asset_job_def()] + [
        defs.resolve_job_def(name)
        for name in ("migrate_doctors", "check_loaded_doctors", "dry_run_doctor_migration",
                     "rollback_doctor_migration")]
    assert {job.executor_def for job in jobs} == {dg.in_process_executor}


def launchpad_default(job_name: str, part: str = "ops") -> dict:
    field = defs.resolve_job_def(job_name).run_config_schema.config_type.fields[part]
    assert not field.is_required  # the launchpad opens ready to launch
    return field.default_value


SETTINGS = {"lock_timeout": "30s", "expected_count": 399, "max_snapshot_age": "1h"}


def test_migration_launchpads_default_every_parameter():
    # The run-wide settings are one resource every step reads. The dry run's load has nothing
    # else to choose: it creates no index and is a dry run by what its job is (no dry_run
    # setting can make a materialization of loaded_doctors one).
    for job_name, ops in (("migrate_doctors", {"loaded_doctors": {
                                "config": {"create_indexes": False}}}),
                          ("dry_run_doctor_migration", {})):
        assert launchpad_default(job_name) == ops
        assert launchpad_default(job_name, "resources") == {"settings": {"config": SETTINGS}}
        fields = defs.resolve_job_def(job_name).run_config_schema.config_type.fields
        settings = fields["resources"].config_type.fields["settings"].config_type
        config = settings.fields["config"].config_type
        assert set(config.fields) == {*SETTINGS, "max_deletes"}
        assert all(field.description for field in config.fields.values()), job_name
        assert "CREATE INDEX" not in config.fields["lock_timeout"].description
    ops = defs.resolve_job_def("migrate_doctors").run_config_schema.config_type.fields["ops"]
    load = ops.config_type.fields["loaded_doctors"].config_type.fields["config"].config_type
    assert load.fields["create_indexes"].description


def fields_named(config_type, name: str, path: str = "") -> list[str]:
    """The paths of every field called `name` in a config schema."""
    found = []
    for key, field in (getattr(config_type, "fields", None) or {}).items():
        where = f"{path}.{key}" if path else key
        found += [where] if key == name else []
        found += fields_named(field.config_type, name, where)
    inner = getattr(config_type, "inner_type", None)
    return found + (fields_named(inner, name, path) if inner is not None else [])


def keys_named(config: dict, name: str, path: str = "") -> list[str]:
    """The paths of every key called `name` in a run config."""
    found = []
    for key, value in config.items():
        where = f"{path}.{key}" if path else key
        found += [where] if key == name else []
        found += keys_named(value, name, where) if isinstance(value, dict) else []
    return found


def test_each_run_wide_setting_is_in_one_place_of_every_launchpad():
    one_place = "resources.settings.config"
    for name in ("lock_timeout", "expected_count", "max_deletes", "max_snapshot_age"):
        for job_name in ("migrate_doctors", "dry_run_doctor_migration"):
            schema = defs.resolve_job_def(job_name).run_config_schema.config_type
            assert fields_named(schema, name) == [f"{one_place}.{name}"], (job_name, name)
        implicit = defs.resolve_implicit_global_asset_job_def().run_config_schema.config_type
        assert fields_named(implicit, name) == [f"{one_place}.{name}"], name  # Materialize all
    for dry_run in (False, True):
        config = migration_run_config(dry_run=dry_run).to_config_dict()
        assert keys_named(config, "lock_timeout") == [f"{one_place}.lock_timeout"]
        assert keys_named(config, "expected_count") == [f"{one_place}.expected_count"]
        given = migration_run_config(41, dry_run, "7s", max_deletes=3).to_config_dict()
        assert given["resources"] == {"settings": {"config": {
            "lock_timeout": "7s", "expected_count": 41, "max_deletes": 3,
            "max_snapshot_age": "1h"}}}


def test_rollback_launchpad_defaults_to_the_newest_run_and_says_where_ids_are():
    assert launchpad_default("rollback_doctor_migration") == {
        "rollback_run": {"config": {"run_id": "", "lock_timeout": "30s"}}}
    job = defs.resolve_job_def("rollback_doctor_migration")
    for text in (job.description, job.graph.node_defs[0].config_schema.config_type
                 .fields["run_id"].description):
        assert "ledger_run_id" in text and "loaded_doctors" in text
        assert "validation_report" in text


def test_lineage_starts_at_the_source_tables():
    graph = defs.resolve_asset_graph()
    external = {"profiles"} | LEGACY_TABLES
    for name in external:
        node = graph.get(dg.AssetKey(name))
        assert not node.is_materializable, name
        assert node.group_name == ("supabase" if name == "profiles" else "legacy_source")
    parents = {key.to_user_string()
               for key in graph.get(dg.AssetKey("clean_doctors")).parent_keys}
    assert parents == LEGACY_TABLES | {"profile_coverage"}
    assert graph.get(dg.AssetKey("profile_coverage")).parent_keys == {dg.AssetKey("profiles")}


# Every table asset and its table, from the definitions alone (no run, no instance).
TABLES = {
    "profile_coverage": "doctor_migration.profile_coverage",
    "clean_doctors": "doctor_migration.clean_doctors",
    "doctor_rows": "doctor_migration.doctor_rows",
    "loaded_doctors": "public.doctors",
    "profiles": "public.profiles",
    **{name: f"public.{name}" for name in LEGACY_TABLES},
}


def test_the_catalog_knows_every_table_before_any_run():
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    assert set(specs) == {*TABLES, "validation_report"}
    columns = {}
    for name, table in TABLES.items():
        metadata = specs[name].metadata
        assert metadata["dagster/table_name"] == table, name
        schema = metadata["dagster/column_schema"]
        assert isinstance(schema, dg.TableSchema), name
        assert all(c.type and c.description for c in schema.columns), name
        columns[name] = [c.name for c in schema.columns]
    assert columns["auth_user"] == ["id", "first_name", "last_name", "email", "username",
                                    "is_active", "date_joined", "last_login"]
    assert columns["dispatch_usersetting"] == columns["dispatch_office_doctors"] == ["user_id"]
    assert columns["dispatch_patient"] == ["doctor_id", "archived"]
    assert columns["profiles"] == ["id", "legacy_user_id", "first_name", "last_name", "email",
                                   "profile_type"]
    assert columns["profile_coverage"] == ["run_id", "profile_id", "legacy_user_id",
                                           "first_name", "last_name", "email"]
    assert columns["clean_doctors"][:3] == ["run_id", "user_id", "first_name"]
    assert columns["doctor_rows"] == ["run_id", *MAPPED_COLUMNS]
    assert columns["loaded_doctors"] == ["id", "legacy_user_id", "profile_id",
                                         *MAPPED_COLUMNS[2:], "updated_at"]
    rules = {c.name: c.description
             for c in specs["doctor_rows"].metadata["dagster/column_schema"].columns}
    assert rules["years_experience"] == "step 2.2: EXTRACT(YEAR FROM AGE(date_joined)), in UTC"
    # Owners and tags, as a data team sets them: the legacy tables are the legacy app's team's.
    for name, spec in specs.items():
        assert spec.owners == (["team:legacy-dispatch"] if name in LEGACY_TABLES
                               else ["team:data-platform"]), name
        tags = {k: v for k, v in spec.tags.items() if not k.startswith("dagster/kind/")}
        assert tags == {"domain": "doctors"}, name
        assert spec.kinds == ({"markdown"} if name == "validation_report" else {"postgres"})


def test_only_the_gates_block():
    graph = defs.resolve_asset_graph()
    specs = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    warn_only = {"profile_join_under_100ms", "legacy_id_lookup_under_10ms",
                 "no_users_merged_under_a_blank_email"}
    assert {name for name, spec in specs.items() if not spec.blocking} == warn_only
    assert len(specs) == 16


def dg_command(*args: str, home: Path) -> subprocess.CompletedProcess:
    """`dg` from this environment, as CI runs it: the project's venv active."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "DAGSTER_HOME": str(home), "VIRTUAL_ENV": str(bin_dir.parent),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([str(bin_dir / "dg"), *args], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=120)


def test_dg_check_and_list_defs(dagster_home):
    check = dg_command("check", "defs", home=dagster_home)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "All definitions loaded successfully." in check.stdout + check.stderr

    listed = dg_command("list", "defs", "--json", home=dagster_home)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assets = {a["asset_key"]: a for a in found["assets"]}
    assert {k for k, a in assets.items() if not a["is_executable"]} == {"profiles"} | LEGACY_TABLES
    assert set(assets["clean_doctors"]["dependency_keys"]) == LEGACY_TABLES | {"profile_coverage"}
    assert {j["name"] for j in found["jobs"]} == {
        "migrate_doctors", "check_loaded_doctors", "dry_run_doctor_migration",
        "rollback_doctor_migration"}
    assert len(found["asset_checks"]) == 16
