"""How long "Materialize all" takes in the Dagster UI, from the click to the run's success, on the
demo world (399 clean doctors), in a real headless Chromium: the figure the browser test prints
but, since a busy machine can double it, never asserts. Not a test (not collected by pytest).

    .venv/bin/python benchmarks/ui_click.py               # 5 clicks
    .venv/bin/python benchmarks/ui_click.py --repeat 3 --doctors 1000

The first click migrates; the later ones are reruns on unchanged data (they write nothing, but
run every step and check). Prints each click, the median, and the machine's load average.
Needs Debian's chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect

from doctor_migration.demo.run import demo_environment
from doctor_migration.demo.ui import INSTANCE, ui_process
from doctor_migration_tests.servers import free_port
from doctor_migration_tests.test_browser import CHROMIUM, browser_on, runs, wait_for_new_run


def click_materialize_all(page, ui_url: str) -> tuple[float, dict]:
    """One "Materialize all" on the migration's asset group: seconds to the run's end, the run."""
    known = {r["runId"] for r in runs(ui_url)}
    page.goto(f"{ui_url}/locations/doctor_migration/asset-groups/doctor_migration")
    button = page.get_by_role("button", name="Materialize all")
    expect(button).to_be_enabled(timeout=30_000)
    clicked = time.monotonic()
    button.click()
    run = wait_for_new_run(page, ui_url, known, timeout=300.0)
    return time.monotonic() - clicked, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="clicks (default 5)")
    parser.add_argument("--doctors", type=int, default=399, help="clean doctors (default 399)")
    args = parser.parse_args()
    if CHROMIUM is None:
        print("no chromium on PATH (apt-get install chromium)")
        return 1
    with tempfile.TemporaryDirectory() as work, demo_environment(args.doctors) as env:
        home = Path(work) / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(INSTANCE)
        with ui_process(home, env, port=free_port()) as ui, \
                browser_on(ui.url, Path(work)) as page:
            seconds = []
            for click in range(1, args.repeat + 1):
                took, run = click_materialize_all(page, ui.url)
                queued = run["startTime"] - run["creationTime"]
                print(f"click {click}: {took:.2f} s to {run['status']} (queued and started in "
                      f"{queued:.2f} s, ran {run['endTime'] - run['startTime']:.2f} s)",
                      flush=True)
                if run["status"] != "SUCCESS":
                    return 1
                seconds.append(took)
    print(f'"Materialize all", {args.doctors} doctors: median {statistics.median(seconds):.2f} s, '
          f"min {min(seconds):.2f} s, max {max(seconds):.2f} s over {len(seconds)} clicks; "
          f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
