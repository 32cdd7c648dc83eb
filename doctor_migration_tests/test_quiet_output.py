"""The command prints its own lines only: no Dagster telemetry banner and no notice about a
missing dagster.yaml, in any DAGSTER_HOME; telemetry stays off unless dagster.yaml turns it on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from doctor_migration import runner
from doctor_migration_tests.test_clear_errors import cli

DAGSTER_NOISE = ["Welcome to Dagster", "Telemetry", "telemetry", "dagster.yaml",
                 "usage statistics", "Slack"]
# A line of Dagster's own console logger: "2025-01-01 10:00:00 +0000 - dagster - INFO - ..."
DAGSTER_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d .* - dagster - ", re.MULTILINE)


def make_home(tmp_path: Path, kind: str) -> Path:
    home = tmp_path / f"home_{kind}"
    if kind == "missing":
        return home
    home.mkdir()
    if kind == "yaml_without_telemetry":
        (home / "dagster.yaml").write_text("run_retries:\n  enabled: false\n")
    return home


@pytest.mark.parametrize("kind", ["empty", "missing", "yaml_without_telemetry"])
def test_every_command_prints_only_its_own_lines(small_dbs, tmp_path, kind):
    home = make_home(tmp_path, kind)
    outputs = {}
    for args in (["plan", "--expected-count", "40"], ["run", "--expected-count", "40"],
                 ["history"], ["report"]):
        code, outputs[args[0]] = cli(*args, DAGSTER_HOME=str(home))
        assert code == 0, outputs[args[0]]
    for command, text in outputs.items():
        for noise in DAGSTER_NOISE:
            assert noise not in text, (command, noise, text)
        assert not DAGSTER_LOG_LINE.search(text), (command, text)
    assert outputs["plan"].startswith("Dagster run ")
    assert re.search(r"^Run \S+ succeeded\.$", outputs["run"], re.MULTILINE)
    assert outputs["history"].startswith("run id ")
    assert outputs["report"].startswith("# Doctor migration run ")
    # Telemetry never started: Dagster keeps its instance id in DAGSTER_HOME when it does.
    assert not (home / ".telemetry").exists()
    assert not (home / "logs" / "event.log").exists()


@pytest.mark.parametrize("yaml_text, enabled", [
    (None, False),
    ("", False),
    ("run_retries:\n  enabled: false\n", False),
    ("telemetry:\n  enabled: false\n", False),
    ("telemetry:\n  enabled: true\n", True),
])
def test_telemetry_is_off_unless_dagster_yaml_turns_it_on(tmp_path, monkeypatch, yaml_text,
                                                          enabled):
    home = tmp_path / "home"
    home.mkdir()
    if yaml_text is not None:
        (home / "dagster.yaml").write_text(yaml_text)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with runner.instance() as instance:
        assert instance.telemetry_enabled is enabled
        assert instance.root_directory == str(home)
