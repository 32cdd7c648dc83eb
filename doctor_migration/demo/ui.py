"""The Dagster UI over a DAGSTER_HOME: `dagster dev` (webserver, daemon, code server) in a
process group of its own, stopped whole on Ctrl-C so nothing is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# The repository's workspace.yaml, when the package runs from a checkout (editable install).
REPO_WORKSPACE = Path(__file__).resolve().parents[2] / "workspace.yaml"
# The same code location, for a package installed without its repository.
WORKSPACE = """\
load_from:
  - python_module:
      module_name: doctor_migration.definitions
      location_name: doctor_migration
"""
# No telemetry, no "join the community" dialog over the demo's first page, and a run queue the
# daemon looks at every second (not every 5), so a run launched from the UI starts at once.
INSTANCE = ("telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
            "run_queue:\n  dequeue_interval_seconds: 1\n")
START_TIMEOUT = 120.0  # seconds; a cold start of dagster dev takes several
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL of the process group


class UIError(RuntimeError):
    """The UI did not come up."""


@dataclass(frozen=True)
class RunningUI:
    """A started UI: where it answers, and the leader of its process group."""

    url: str
    process: subprocess.Popen


def write_instance_config(dagster_home: Path) -> None:
    """Telemetry and the welcome dialog off, unless dagster_home already has a dagster.yaml:
    written before the first run, so neither Dagster's telemetry notice nor the dialog shows."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE)


def workspace_file(dagster_home: Path) -> Path:
    """The repository's workspace.yaml, or an equivalent one written into dagster_home."""
    if REPO_WORKSPACE.is_file() and "doctor_migration.definitions" in REPO_WORKSPACE.read_text():
        return REPO_WORKSPACE
    path = dagster_home / "workspace.yaml"
    path.write_text(WORKSPACE)
    return path


@contextmanager
def ui_process(dagster_home: Path, env: dict[str, str], host: str = "127.0.0.1",
               port: int = 3000, *, daemon: bool = True) -> Iterator[RunningUI]:
    """Start the UI (with the daemon, or the webserver alone), yield it once it answers; on
    exit, end its whole process group."""
    dagster_home = Path(dagster_home).resolve()
    write_instance_config(dagster_home)
    workspace = workspace_file(dagster_home)
    program = ["dagster", "dev"] if daemon else ["dagster_webserver"]
    command = [sys.executable, "-m", *program, "-w", str(workspace), "-h", host, "-p", str(port)]
    log_path = dagster_home / "ui.log"
    url = f"http://{host}:{port}"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, cwd=dagster_home, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            env={**os.environ, **env, "DAGSTER_HOME": str(dagster_home)},
            # Its own process group: Ctrl-C in the terminal reaches us, and we end the group.
            start_new_session=True,
        )
    try:
        _wait_until_up(process, url, log_path)
        yield RunningUI(url, process)
    finally:
        stop_process_group(process)


def _wait_until_up(process: subprocess.Popen, url: str, log_path: Path) -> None:
    probe = url.replace("//0.0.0.0:", "//127.0.0.1:") + "/server_info"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UIError(f"the Dagster UI exited with code {process.returncode}; "
                          f"see {log_path}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(probe, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise UIError(f"the Dagster UI did not answer at {probe} within {START_TIMEOUT:.0f} s; "
                  f"see {log_path}")


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process_group(process: subprocess.Popen, grace: float = STOP_GRACE) -> None:
    """SIGTERM to every process of the group led by `process`, SIGKILL to what is left after
    `grace` seconds."""
    group = process.pid
    try:
        os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        process.wait()
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reaps the leader, so an ended group stops answering
        if not _group_alive(group):
            return
        time.sleep(0.1)
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def serve_ui(dagster_home: Path, env: dict[str, str], host: str = "127.0.0.1",
             port: int = 3000) -> int:
    """Serve the Dagster UI over `dagster_home` until Ctrl-C; returns an exit code."""
    restore = _terminate_as_interrupt()
    try:
        with ui_process(dagster_home, env, host, port) as ui:
            print(f"Dagster UI: {ui.url}  (logs: {Path(dagster_home) / 'ui.log'}; "
                  "Ctrl-C stops it)", flush=True)
            code = ui.process.wait()
        print(f"the Dagster UI stopped on its own with code {code}", file=sys.stderr)
        return 1
    except UIError as exc:
        print(f"doctor-migration: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Dagster UI stopped.", flush=True)
        return 0
    finally:
        restore()


def _terminate_as_interrupt():
    """While serving, SIGTERM unwinds like Ctrl-C, so the UI's processes still get stopped."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    return lambda: signal.signal(signal.SIGTERM, previous)

