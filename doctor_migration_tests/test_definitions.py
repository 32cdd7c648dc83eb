"""The code location as the UI and `dg` see it: every button runs in process, every launchpad
opens with every parameter at its described default, the lineage starts at the source tables,
and `dg check defs` / `dg list defs` load the project."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from doctor_migration.definitions import defs

REPO = Path(__file__).resolve().parents[1]
LEGACY_TABLES = {"auth_user", "dispatch_usersetting", "dispatch_office_doctors",
                 "dispatch_patient"}


def test_every_button_runs_in_process():
    # "Materialize all" and a single asset launched from the UI run as the implicit asset job.
    jobs = [defs.resolve_implicit_global_asset_job_def()] + [
        defs.resolve_job_def(name)
        for name in ("migrate_doctors", "dry_run_doctor_migration", "rollback_doctor_migration")]
    assert {job.executor_def for job in jobs} == {dg.in_process_executor}


def ops_default(job_name: str) -> dict:
    ops = defs.resolve_job_def(job_name).run_config_schema.config_type.fields["ops"]
    assert not ops.is_required  # the launchpad opens ready to launch
    return ops.default_value


def test_migration_launchpads_default_every_parameter():
    # The dry run's load has nothing to choose: it creates no index and is a dry run by what
    # its job is (no dry_run setting can make a materialization of loaded_doctors one).
    bounds = {"lock_timeout": "30s", "max_snapshot_age": "1h"}  # max_deletes: empty
    for job_name, load in (("migrate_doctors", {**bounds, "create_indexes": False}),
                           ("dry_run_doctor_migration", bounds)):
        assert ops_default(job_name) == {
            "profile_coverage": {"config": {"lock_timeout": "30s"}},
            "clean_doctors": {"config": {"lock_timeout": "30s", "expected_count": 399}},
            "doctor_rows": {"config": {"lock_timeout": "30s"}},
            "loaded_doctors": {"config": load},
        }
        ops = defs.resolve_job_def(job_name).run_config_schema.config_type.fields["ops"]
        for op, fields in (("clean_doctors", ["expected_count", "lock_timeout"]),
                           ("loaded_doctors", [*load, "max_deletes"])):
            config = ops.config_type.fields[op].config_type.fields["config"].config_type
            for name in fields:
                assert config.fields[name].description, (job_name, op, name)


def test_rollback_launchpad_defaults_to_the_newest_run_and_says_where_ids_are():
    assert ops_default("rollback_doctor_migration") == {
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
        "migrate_doctors", "dry_run_doctor_migration", "rollback_doctor_migration"}
    assert len(found["asset_checks"]) == 16
