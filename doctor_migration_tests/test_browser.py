"""The Dagster UI in a real, headless Chromium, used as a person uses it: after a migration run,
the asset graph shows the five assets materialized and their checks passed; and from the UI
itself, "Materialize all" migrates fast, the lineage starts at the source tables, a plan with
a wrong expected count fails with the sentence on its run page, and the rollback job undoes
the newest run from its launchpad and shows on loaded_doctors as its latest materialization.
Skipped where no Chromium is installed."""

import json
import re
import shutil
import time
import urllib.request
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect, sync_playwright

from doctor_migration.demo.ui import INSTANCE, ui_process
from doctor_migration.names import UNDOES_TAG
from doctor_migration_tests.helpers import doctors, migrate, started
from doctor_migration_tests.servers import free_port

CHROMIUM = shutil.which("chromium")
ASSETS = ["profile_coverage", "clean_doctors", "doctor_rows", "loaded_doctors",
          "validation_report"]
SOURCES = ["auth_user", "dispatch_usersetting", "dispatch_office_doctors", "dispatch_patient",
           "profiles"]
# Nothing may leave the machine: no Google services, updates or QUIC; names resolve to nothing
# but the loopback address the UI is on.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

# The UI's pages load their data after they render; a shared 2-core machine can be slow.
expect.set_options(timeout=20_000)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)"),
]


@contextmanager
def browser_on(ui_url: str, tmp_path):
    """A page of a headless Chromium that reaches the UI and nothing else."""
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=FLAGS, viewport={"width": 1600, "height": 1000})

        def only_the_ui(route):
            if route.request.url.startswith(ui_url + "/"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        browser.route("**/*", only_the_ui)
        try:
            yield browser.new_page()
        finally:
            browser.close()
    assert outside == []


def graphql(ui_url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{ui_url}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)["data"]


def runs(ui_url: str) -> list[dict]:
    """Every run of the instance, newest first."""
    data = graphql(ui_url, "{ runsOrError { ... on Runs { results { runId jobName status "
                           "creationTime startTime endTime } } } }")
    return data["runsOrError"]["results"]


def tags(ui_url: str, run_id: str) -> dict:
    """A run's tags, by the UI's GraphQL."""
    data = graphql(ui_url, '{ runOrError(runId: "%s") { ... on Run { tags { key value } } } }'
                   % run_id)
    return {tag["key"]: tag["value"] for tag in data["runOrError"]["tags"]}


def catalog(ui_url: str) -> dict:
    """What the asset catalog shows of each migration asset, by the UI's GraphQL: the run of
    its latest materialization, and its checks' latest run and status."""
    shown = {}
    for asset in ASSETS:
        node = graphql(ui_url, (
            '{ assetNodeOrError(assetKey: {path: ["%s"]}) { ... on AssetNode { '
            "assetMaterializations(limit: 1) { runId } assetChecksOrError { ... on AssetChecks "
            "{ checks { name executionForLatestMaterialization { runId status } } } } } } }"
        ) % asset)["assetNodeOrError"]
        shown[asset] = [m["runId"] for m in node["assetMaterializations"]]
        for check in node["assetChecksOrError"].get("checks", []):
            execution = check["executionForLatestMaterialization"] or {}
            shown[f"{asset}:{check['name']}"] = (execution.get("runId"), execution.get("status"))
    return shown


def wait_for_new_run(page, ui_url: str, known: set[str], timeout: float = 60.0) -> dict:
    """The run that is not in `known`, once it has finished. Waits through the page, so that
    Playwright keeps routing the page's requests meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [r for r in runs(ui_url) if r["runId"] not in known]
        if new and new[0]["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return new[0]
        page.wait_for_timeout(100)
    raise AssertionError(f"no new run finished within {timeout} s: {runs(ui_url)}")


def test_ui_shows_the_run_materialized_and_checked(small_dbs, dagster_home, tmp_path):
    assert migrate(40).success
    with open(dagster_home / "dagster.yaml", "a") as config:
        config.write("nux:\n  enabled: false\n")  # no "join the community" dialog
    env = {"SOURCE_DATABASE_URL": small_dbs.source_url,
           "SUPABASE_DATABASE_URL": small_dbs.target_url}
    with ui_process(dagster_home, env, port=free_port(), daemon=False) as ui, \
            browser_on(ui.url, tmp_path) as page:
        page.goto(f"{ui.url}/locations/doctor_migration/asset-groups/doctor_migration")
        for asset in ASSETS:
            expect(page.get_by_text(asset, exact=True).first).to_be_visible()
        expect(page.get_by_text("Materialized", exact=True)).to_have_count(len(ASSETS))
        expect(page.get_by_text("Never materialized")).to_have_count(0)
        # The two assets with checks: "n / n Passed" on each node.
        expect(page.get_by_text(re.compile(r"^(\d+) / \1 Passed$"))).to_have_count(2)
        page.screenshot(path=tmp_path / "asset_graph.png")

        for asset in ("clean_doctors", "loaded_doctors"):
            page.goto(f"{ui.url}/assets/{asset}?view=checks")
            heading = page.get_by_text(re.compile(r"^Checks \(\d+\)$"))
            expect(heading).to_be_visible()
            checks = int(re.search(r"\d+", heading.inner_text()).group())
            assert checks >= 4
            expect(page.get_by_text("Succeeded", exact=True)).to_have_count(checks)
            expect(page.get_by_text("Failed", exact=True)).to_have_count(0)
            page.screenshot(path=tmp_path / f"{asset}_checks.png")
    print(f"screenshots in {tmp_path}")


def test_migrate_plan_and_roll_back_from_the_ui(dbs, dagster_home, tmp_path):
    """The demo world (399 clean doctors) and the demo's instance (`dagster dev`: webserver,
    daemon and its run queue), driven only through the browser."""
    (dagster_home / "dagster.yaml").write_text(INSTANCE)
    env = {"SOURCE_DATABASE_URL": dbs.source_url, "SUPABASE_DATABASE_URL": dbs.target_url}
    with ui_process(dagster_home, env, port=free_port()) as ui, \
            browser_on(ui.url, tmp_path) as page:
        # Before any run, on a fresh instance, the catalog knows where the table is and its
        # columns (the definition's metadata).
        page.goto(f"{ui.url}/assets/loaded_doctors")
        expect(page.get_by_text("public.doctors", exact=True).first).to_be_visible()
        expect(page.get_by_text("migration_metadata", exact=True).first).to_be_visible()
        page.screenshot(path=tmp_path / "0_loaded_doctors_before_any_run.png")
        # "Materialize all" on the migration's asset group.
        page.goto(f"{ui.url}/locations/doctor_migration/asset-groups/doctor_migration")
        expect(page.get_by_text("Never materialized")).to_have_count(len(ASSETS))
        # The lineage starts at the legacy tables and Supabase's profiles.
        for name in SOURCES:
            expect(page.get_by_text(name, exact=True)).to_be_visible()
        button = page.get_by_role("button", name="Materialize all")
        expect(button).to_be_enabled()
        page.screenshot(path=tmp_path / "1_before_materialize_all.png")
        clicked = time.monotonic()
        button.click()
        run = wait_for_new_run(page, ui.url, set())
        seconds = time.monotonic() - clicked
        assert run["status"] == "SUCCESS", run
        migrated = doctors(dbs.target_url, "legacy_user_id IS NOT NULL")
        assert len(migrated) == 399
        page.goto(f"{ui.url}/runs/{run['runId']}")
        expect(page.get_by_text("Success", exact=True).first).to_be_visible()
        page.screenshot(path=tmp_path / "2_materialize_all_run.png")
        print(f'"Materialize all" took {seconds:.2f} s from click to success; queued and '
              f'started in {run["startTime"] - run["creationTime"]:.2f} s, ran '
              f'{run["endTime"] - run["startTime"]:.2f} s')
        migration_run = run["runId"]
        migrated_catalog = catalog(ui.url)
        assert migrated_catalog["clean_doctors:clean_doctor_count_is_expected"] == (
            migration_run, "SUCCEEDED")

        # Two levels up from clean_doctors: the source tables, profile_coverage, profiles.
        page.goto(f"{ui.url}/assets/clean_doctors?view=lineage&lineageScope=upstream"
                  "&lineageDepth=2")
        for name in ("legacy_source", "supabase", "auth_user", "dispatch_patient", "profiles",
                     "profile_coverage"):
            expect(page.get_by_text(name, exact=True).first).to_be_visible()
        page.screenshot(path=tmp_path / "3_clean_doctors_lineage.png")

        # A plan (the dry-run job) with a wrong expected count, set in the launchpad.
        page.goto(
            f"{ui.url}/locations/doctor_migration/jobs/dry_run_doctor_migration/playground")
        count = page.locator(".CodeMirror-line", has_text="expected_count").locator(
            ".cm-number")
        expect(count).to_have_text("399")
        count.dblclick()
        page.keyboard.type("41")
        expect(page.locator(".CodeMirror-line", has_text="expected_count")).to_contain_text(
            "expected_count: 41")
        page.screenshot(path=tmp_path / "4_plan_launchpad.png")
        page.get_by_role("button", name="Launch Run").click()
        plan = wait_for_new_run(page, ui.url, {migration_run})
        assert plan["status"] == "FAILURE", plan
        page.goto(f"{ui.url}/runs/{plan['runId']}")
        expect(page.get_by_text("check clean_doctor_count_is_expected failed: 399 clean "
                                "doctors in the source, 41 expected").first).to_be_visible()
        page.screenshot(path=tmp_path / "5_plan_failed_run.png")
        page.get_by_text("STEP_FAILURE").first.scroll_into_view_if_needed()
        expect(page.get_by_text("StopMigration", exact=True)).to_be_visible()
        page.screenshot(path=tmp_path / "5_plan_failed_step.png")
        assert doctors(dbs.target_url, "legacy_user_id IS NOT NULL") == migrated
        # The real assets are as the migration left them: materialized by it, checks passed.
        assert catalog(ui.url) == migrated_catalog
        page.goto(f"{ui.url}/assets/clean_doctors?view=checks")
        expect(page.get_by_text(re.compile(r"^Checks \(\d+\)$"))).to_be_visible()
        expect(page.get_by_text("Succeeded", exact=True).first).to_be_visible()
        expect(page.get_by_text("Failed", exact=True)).to_have_count(0)
        page.screenshot(path=tmp_path / "5_clean_doctors_checks_after_plan.png")

        # The rollback job from its launchpad, as it opens: the newest run that changed doctors.
        page.goto(
            f"{ui.url}/locations/doctor_migration/jobs/rollback_doctor_migration/playground")
        expect(page.locator(".CodeMirror-line", has_text="run_id")).to_contain_text(
            "run_id: ''")
        expect(page.get_by_text("No errors", exact=True)).to_be_visible()
        expect(page.get_by_text("Missing required config entry")).to_have_count(0)
        page.screenshot(path=tmp_path / "6_rollback_launchpad.png")
        page.get_by_role("button", name="Launch Run").click()
        rollback = wait_for_new_run(page, ui.url, {migration_run, plan["runId"]})
        assert rollback["status"] == "SUCCESS", rollback
        page.goto(f"{ui.url}/runs/{rollback['runId']}")
        expect(page.get_by_text(
            f"no run_id given: rolling back run {migration_run} (started "
            f"{started(dbs.target_url, migration_run)}, the newest run that changed doctors and "
            "is not rolled back)").first).to_be_visible()
        page.screenshot(path=tmp_path / "7_rollback_run.png")
        assert doctors(dbs.target_url, "legacy_user_id IS NOT NULL") == {}
        # The rollback is loaded_doctors' latest materialization, its run tagged with the run
        # it undid.
        assert catalog(ui.url)["loaded_doctors"] == [rollback["runId"]]
        assert tags(ui.url, rollback["runId"])[UNDOES_TAG] == migration_run
        # validation_report, downstream, is out of date: upstream has a new materialization.
        report = graphql(ui.url, '{ assetNodeOrError(assetKey: {path: ["validation_report"]}) '
                         '{ ... on AssetNode { staleStatus } } }')["assetNodeOrError"]
        assert report["staleStatus"] == "STALE"
        # The asset page shows it: the rollback's metadata, and its sentence among the events.
        page.goto(f"{ui.url}/assets/loaded_doctors")
        expect(page.get_by_text("rolled_back_run_id", exact=True)).to_be_visible()
        expect(page.get_by_text(migration_run, exact=True).first).to_be_visible()
        page.screenshot(path=tmp_path / "8_loaded_doctors_after_rollback.png")
        page.goto(f"{ui.url}/assets/loaded_doctors?view=events")
        expect(page.get_by_text(
            f"Rollback of run {migration_run}: public.doctors as it was before that run (399 "
            "inserted rows removed, 0 updated rows restored, 0 deleted rows recreated).",
            exact=True).first).to_be_visible()
        page.screenshot(path=tmp_path / "9_loaded_doctors_events_after_rollback.png")
    print(f"screenshots in {tmp_path}")
