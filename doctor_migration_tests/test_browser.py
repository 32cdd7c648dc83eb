"""The Dagster UI in a real, headless Chromium: after a migration run, the asset graph shows the
five assets materialized and their checks passed. Skipped where no Chromium is installed."""

import re
import shutil
import socket

import pytest
from playwright.sync_api import expect, sync_playwright

from doctor_migration.demo.ui import ui_process
from doctor_migration_tests.helpers import migrate

CHROMIUM = shutil.which("chromium")
ASSETS = ["profile_coverage", "clean_doctors", "doctor_rows", "loaded_doctors",
          "validation_report"]
# Nothing may leave the machine: no Google services, updates or QUIC; names resolve to nothing
# but the loopback address the UI is on.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ui_shows_the_run_materialized_and_checked(small_dbs, dagster_home, tmp_path):
    assert migrate(40).success
    with open(dagster_home / "dagster.yaml", "a") as config:
        config.write("nux:\n  enabled: false\n")  # no "join the community" dialog
    env = {"SOURCE_DATABASE_URL": small_dbs.source_url,
           "SUPABASE_DATABASE_URL": small_dbs.target_url}
    outside: list[str] = []
    with ui_process(dagster_home, env, port=free_port(), daemon=False) as ui, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=FLAGS, viewport={"width": 1600, "height": 1000})

        def only_the_ui(route):
            if route.request.url.startswith(ui.url + "/"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        browser.route("**/*", only_the_ui)
        page = browser.new_page()
        try:
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
        finally:
            browser.close()
    assert outside == []
    print(f"screenshots in {tmp_path}")
