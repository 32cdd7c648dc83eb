"""The rows stay in PostgreSQL: the assets are tables of the command's stage on the target, the
steps run in processes of their own, a run and a plan never read each other's stage, a killed
run's leftovers go with the next run, nobody but the tool's role may read the stage, and no
name or e-mail of the world lands under DAGSTER_HOME."""

from __future__ import annotations

import re
import threading
from functools import partial
from pathlib import Path

import dagster as dg
import psycopg

from doctor_migration import runner
from doctor_migration.defs.config import migration_run_config
from doctor_migration.defs.jobs import MIGRATION
from doctor_migration.migration import db, stage, target
from doctor_migration.migration.db import load_sql
from doctor_migration.names import EXIT_COMMITTED
from doctor_migration_tests.helpers import doctors, lone_clean_ids, migrate, snapshot
from doctor_migration_tests.servers import start_cli, tool_sessions, wait_for
from doctor_migration_tests.test_faults import (  # noqa: F401 - a fixture
    Hold,
    held_inserts,
    killed,
    load_session,
    no_tool_session_left,
)
from doctor_migration_tests.test_hangs import cli

STAGE_TABLES = ["stages", "profile_coverage", "clean_doctors", "source_users", "doctor_rows"]
HOLD_KEY = 4343  # advisory lock the test's trigger on the stage waits on


def stage_rows(url: str) -> dict[str, dict[str, int]]:
    """Per stage table, the rows of each stage id."""
    with psycopg.connect(url, autocommit=True) as conn:
        return {t: dict(conn.execute(f"SELECT run_id, count(*) FROM doctor_migration.{t} "
                                     "GROUP BY run_id").fetchall()) for t in STAGE_TABLES}


def test_the_assets_are_tables_an_operator_can_query(small_dbs):
    run = migrate(40)
    assert run.success, run.failures
    plan = migrate(40, dry_run=True)
    assert plan.success, plan.failures
    with small_dbs.target() as conn:
        assert conn.execute("SELECT run_id, command FROM doctor_migration.stages "
                            "ORDER BY started_at").fetchall() == [(run.run_id, "run"),
                                                                   (plan.run_id, "plan")]
        # What did the last plan select, and what would it write?
        assert conn.execute(
            "SELECT count(*) FROM doctor_migration.clean_doctors c "
            "JOIN doctor_migration.doctor_rows d ON d.run_id = c.run_id "
            " AND d.legacy_user_id = c.user_id WHERE c.run_id = %s",
            (plan.run_id,)).fetchone()[0] == 40
        accounted = dict(conn.execute(
            "SELECT outcome, count(*) FROM doctor_migration.source_users WHERE run_id = %s "
            "GROUP BY outcome", (run.run_id,)).fetchall())
    assert accounted["migrated"] == 40
    assert sum(accounted.values()) == len(small_dbs.world.users)
    materialized = {m.asset_key.to_user_string(): m.metadata for m in (
        e.event_specific_data.materialization for e in run.result.all_events
        if e.is_step_materialization)}
    with small_dbs.target() as conn:
        profiles = conn.execute("SELECT count(*) FROM public.profiles WHERE profile_type = "
                                "'doctor' AND legacy_user_id IS NOT NULL").fetchone()[0]
    # Each table's name and columns are on its definition (test_definitions.py); a
    # materialization has its rows and the query that shows them.
    for asset, rows in [("profile_coverage", profiles), ("clean_doctors", 40),
                        ("doctor_rows", 40)]:
        meta = materialized[asset]
        assert meta["dagster/row_count"].value == rows, asset
        assert meta["query"].value == (
            f"`SELECT * FROM doctor_migration.{asset} WHERE run_id = '{run.run_id}'`")
    # doctor_rows' preview: its first rows as the plan orders them, most patients first.
    columns = ["legacy_user_id", "doctor_number", "years_experience", "licensed_since"]
    with small_dbs.target() as conn:
        first = conn.execute(
            "SELECT legacy_user_id, doctor_number, years_experience, licensed_since::text "
            "FROM doctor_migration.doctor_rows WHERE run_id = %s ORDER BY "
            "(migration_metadata ->> 'source_patient_count')::bigint DESC, legacy_user_id "
            "LIMIT 10", (run.run_id,)).fetchall()
    assert [tuple(r.data[c] for c in columns)
            for r in materialized["doctor_rows"]["preview"].value.records] == first
    # The next run replaces the last run's stage, and leaves the plan's.
    again = migrate(40)
    assert again.success, again.failures
    assert {t: set(rows) for t, rows in stage_rows(small_dbs.target_url).items()} == \
        dict.fromkeys(STAGE_TABLES, {plan.run_id, again.run_id})


def test_the_planner_knows_the_size_of_each_new_stage(small_dbs):
    """The steps analyze the stage tables' planned columns after filling them, so the plans of
    the next statements count a new stage's rows, not those of the stage analyzed before it
    (which would make them join the new stage in nested loops)."""
    assert migrate(40).success
    run = migrate(40)
    assert run.success, run.failures
    with small_dbs.target() as conn:
        profiles = conn.execute("SELECT count(*) FROM public.profiles WHERE profile_type = "
                                "'doctor' AND legacy_user_id IS NOT NULL").fetchone()[0]
        for table, rows in [("profile_coverage", profiles), ("clean_doctors", 40),
                            ("source_users", len(small_dbs.world.users))]:
            plan = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM doctor_migration.{table} "
                                "WHERE run_id = %s", (run.run_id,)).fetchone()[0]
            assert plan[0]["Plan"]["Plan Rows"] == rows, table


def test_the_gates_do_not_wait_for_the_accounting(small_dbs):
    """What runs on the staged clean doctors (the gates) starts once step 1.1's rows are in,
    while the accounting of every source user is still on its way."""
    sid = "gated-early"
    timeouts = target.Timeouts(lock_timeout="10s")
    with db.connect(small_dbs.target_url, "target") as conn:
        stage.start(conn, sid, "run", timeouts)
    with small_dbs.target() as conn:
        conn.execute(
            "CREATE FUNCTION public.wait_for_test() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_advisory_xact_lock_shared({HOLD_KEY}); RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER wait_for_test BEFORE INSERT ON doctor_migration.source_users "
                     "FOR EACH STATEMENT EXECUTE FUNCTION public.wait_for_test()")
    held = Hold(small_dbs.target_url, HOLD_KEY)
    seen = []

    def staged() -> str:
        with small_dbs.target() as conn:
            seen.append(conn.execute("SELECT count(*) FROM doctor_migration.clean_doctors "
                                     "WHERE run_id = %s", (sid,)).fetchone()[0])
            seen.append(conn.execute("SELECT count(*) FROM doctor_migration.source_users "
                                     "WHERE run_id = %s", (sid,)).fetchone()[0])
        held.release()
        return "gated"

    try:
        assert stage.stage_source(partial(db.connect, small_dbs.source_url, "source"),
                                  partial(db.connect, small_dbs.target_url, "target"), sid, "run",
                                  timeouts, staged=staged) == "gated"
    finally:
        held.release()
    assert seen == [40, 0]
    with small_dbs.target() as conn:
        assert conn.execute("SELECT count(*) FROM doctor_migration.source_users "
                            "WHERE run_id = %s", (sid,)).fetchone()[0] == len(small_dbs.world.users)


def multiprocess_job() -> dg.JobDefinition:
    """migrate_doctors with each step in a process of its own (the UI's multiprocess
    executor), for dg.reconstructable."""
    from doctor_migration.definitions import defs

    return dg.Definitions(
        assets=defs.assets, asset_checks=defs.asset_checks, resources=defs.resources,
        jobs=[dg.define_asset_job("migrate_doctors_multiprocess", selection=MIGRATION,
                                  executor_def=dg.multiprocess_executor)],
    ).resolve_job_def("migrate_doctors_multiprocess")


def test_every_step_in_a_process_of_its_own(small_dbs):
    instance = runner.instance()
    with dg.execute_job(dg.reconstructable(multiprocess_job), instance=instance,
                        run_config=migration_run_config(40).to_config_dict()) as result:
        assert result.success
        events = result.all_events
        checks = result.get_asset_check_evaluations()
    step_pids = {e.step_key: e.pid for e in events if e.event_type_value == "STEP_START"}
    assert set(step_pids) >= {"profile_coverage", "clean_doctors", "doctor_rows",
                              "loaded_doctors", "validation_report"}
    assert len(set(step_pids.values())) == len(step_pids)  # one process each
    assert len(checks) == 16 and all(c.passed for c in checks)
    migrated = doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")
    assert sorted(d["legacy_user_id"] for d in migrated.values()) == small_dbs.world.clean_ids
    assert runner.stored_report(result.run_id)["counts"]["inserted"] == 40


def test_a_run_and_a_plan_at_the_same_time_read_their_own_stages(small_dbs, tmp_path):
    assert migrate(40, dry_run=True).success  # the stage exists: hold the run inside it
    with small_dbs.target() as conn:
        conn.execute(
            "CREATE FUNCTION public.hold_the_run() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF current_setting('application_name') LIKE 'doctor-migration run %' THEN "
            f"PERFORM pg_advisory_xact_lock_shared({HOLD_KEY}); END IF; RETURN NEW; END $$")
        conn.execute("CREATE TRIGGER hold_the_run BEFORE INSERT ON doctor_migration.doctor_rows "
                     "FOR EACH ROW EXECUTE FUNCTION public.hold_the_run()")
    hold = Hold(small_dbs.target_url, HOLD_KEY)
    gone = lone_clean_ids(small_dbs.world)[0]
    proc = start_cli(["run", "--expected-count", "40"], tmp_path / "out")
    try:
        # The run has read 40 clean doctors and waits inside its doctor_rows step.
        session = wait_for(lambda: next((s for s in tool_sessions(
            small_dbs.target_url, "doctor-migration run %") if s[4] == "advisory"), None),
            "the run to wait in its doctor_rows step")
        run_id = session[1].removeprefix("doctor-migration run ")
        with small_dbs.source() as conn:
            conn.execute("UPDATE auth_user SET is_active = false WHERE id = %s", (gone,))
        plan = migrate(39, dry_run=True)
        assert plan.success, plan.failures
        assert plan.report_json["counts"]["inserted"] == 39
        hold.release()
        assert proc.wait(120) == 0, (tmp_path / "out").read_text()
    finally:
        hold.release()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert f"Run {run_id} succeeded." in (tmp_path / "out").read_text()
    assert "| inserted | 40 |" in (tmp_path / "out").read_text()
    rows = stage_rows(small_dbs.target_url)
    assert rows["clean_doctors"] == {run_id: 40, plan.run_id: 39}
    assert rows["doctor_rows"] == {run_id: 40, plan.run_id: 39}
    assert gone in {d["legacy_user_id"] for d in doctors(small_dbs.target_url).values()}


def test_a_killed_runs_leftovers_go_with_the_next_run(small_dbs, held_inserts,  # noqa: F811
                                                      tmp_path):
    before = snapshot(small_dbs.target_url)
    proc = start_cli(["run", "--expected-count", "40"], tmp_path / "out")
    try:
        _, application, *_ = load_session(small_dbs.target_url, "advisory", proc,
                                          tmp_path / "out")
    finally:
        killed(proc, tmp_path)
    killed_id = application.removeprefix("doctor-migration run ")
    no_tool_session_left(small_dbs.target_url)
    held_inserts.release()
    assert snapshot(small_dbs.target_url) == before
    assert stage_rows(small_dbs.target_url)["doctor_rows"] == {killed_id: 40}
    run = migrate(40)
    assert run.success, run.failures
    assert {t: set(rows) for t, rows in stage_rows(small_dbs.target_url).items()} == \
        dict.fromkeys(STAGE_TABLES, {run.run_id})


def test_nobody_but_the_tools_role_may_read_the_stage(small_dbs):
    with small_dbs.target() as conn:
        # Default privileges that would hand every new table and schema to the API roles.
        conn.execute("ALTER DEFAULT PRIVILEGES FOR ROLE postgres "
                     "GRANT ALL ON TABLES TO PUBLIC, anon, authenticated, service_role")
        conn.execute("ALTER DEFAULT PRIVILEGES FOR ROLE postgres "
                     "GRANT USAGE ON SCHEMAS TO PUBLIC, anon, authenticated")
    assert migrate(40).success
    with small_dbs.target() as conn:
        grantees = conn.execute(
            "SELECT c.relname, a.grantee::regrole::text FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
            "WHERE n.nspname = 'doctor_migration' AND c.relname = ANY(%s)",
            (STAGE_TABLES,)).fetchall()
        assert {grantee for _, grantee in grantees} == {"postgres"}
        assert {table for table, _ in grantees} == set(STAGE_TABLES)
        for role in ("anon", "authenticated", "service_role"):
            assert conn.execute("SELECT has_schema_privilege(%s, 'doctor_migration', 'USAGE')",
                                (role,)).fetchone()[0] is False
        for role in ("anon", "authenticated"):
            conn.execute(f"SET ROLE {role}")
            try:
                with conn.transaction():
                    conn.execute("SELECT email FROM doctor_migration.clean_doctors")
                raise AssertionError(f"{role} read the stage")
            except psycopg.errors.InsufficientPrivilege:
                pass
            finally:
                conn.execute("RESET ROLE")


def test_step_4_after_the_commit_waits_no_longer_than_the_lock_timeout(
        small_dbs, held_inserts, tmp_path):  # noqa: F811
    proc = start_cli(["run", "--expected-count", "40", "--lock-timeout", "5s"], tmp_path / "out")
    queued = threading.Event()

    def lock_the_stage(pids: list) -> None:
        with psycopg.connect(small_dbs.target_url, application_name="stage-audit") as conn:
            pids.append(conn.info.backend_pid)
            queued.set()
            conn.execute("LOCK TABLE public.doctors IN ACCESS EXCLUSIVE MODE")
            wait_for(lambda: proc.poll() is not None, "the run to end", timeout=120)

    pids: list = []
    locker = threading.Thread(target=lock_the_stage, args=(pids,))
    try:
        load_session(small_dbs.target_url, "advisory", proc, tmp_path / "out")
        locker.start()
        queued.wait(10)
        # The lock waits for the load, which writes doctors; release the load once queued.
        wait_for(lambda: _waits_for_lock(small_dbs, pids[0]), "the LOCK to queue", timeout=4)
        held_inserts.release()
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        locker.join(130)
    out = (tmp_path / "out").read_text()
    assert code == EXIT_COMMITTED, out
    assert re.search(
        r"^error at loaded_doctors: the target's public\.doctors "
        rf"stayed locked for 5s by pid {pids[0]} \(user postgres, application stage-audit, "
        r"in a transaction since .*\); the load had committed, steps 4\.1 and 4\.2 were not "
        r"measured \(`doctor-migration check` measures them\): let that session finish",
        out, re.MULTILINE), out
    assert "nothing was changed" not in out, out
    assert "did not complete; its load did commit" in out, out
    assert len(doctors(small_dbs.target_url, "legacy_user_id IS NOT NULL")) == 40


def _waits_for_lock(dbs, pid: int) -> bool:
    with dbs.target() as conn:
        return conn.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s "
                            "AND NOT granted)", (pid,)).fetchone()[0]


def test_no_name_or_email_under_dagster_home(small_dbs, dagster_home, tmp_path):
    code, out = cli(tmp_path, "run", "--expected-count", "40")
    assert code == 0, out
    run_id = re.search(r"^Dagster run (\S+)", out, re.MULTILINE).group(1)
    # A dry run that stops at the gates records what it found too (observations, a Failure).
    code, out = cli(tmp_path, "plan", "--expected-count", "41")
    assert code == 1, out
    for args in (["plan", "--expected-count", "40"], ["report"], ["report", run_id, "--json"],
                 ["explain", "1"], ["explain", "2", "--show-pii"], ["history"],
                 ["rollback", run_id]):
        code, out = cli(tmp_path, *args)
        assert code == 0, (args, out)
    files = [p for p in Path(dagster_home).rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)  # the SQLite event log was searched too
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files).lower()
    assert run_id in text
    found = []
    for user in small_dbs.world.users:
        for secret in (user.email.strip(), f"{user.first_name} {user.last_name}".strip()):
            if len(secret) > 3 and secret.lower() in text:
                found.append(secret)
    assert not found, found


def test_step_1_1_is_the_plans_sql_byte_for_byte():
    """select_clean_doctors.sql is the plan's step 1.1 block, as written (docs/ keeps the
    plan; where the project's shared copy is at hand, the two must be the same)."""
    repo = Path(__file__).resolve().parents[1]
    plan = repo / "docs" / "doctor_migration_plan.md"
    shared = repo.parent / "shared" / "plan" / "doctor_migration_plan.md"
    if shared.exists():
        assert plan.read_text() == shared.read_text()
    block = plan.read_text().split("**1.1 Extract Clean Doctor Dataset**\n```sql\n", 1)[1]
    block = block.split("```", 1)[0]
    header = "".join(load_sql("select_clean_doctors").splitlines(keepends=True)[:3])
    assert load_sql("select_clean_doctors") == header + block
