"""serve_ui: the Dagster UI comes up, answers, and Ctrl-C leaves none of its processes behind."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from doctor_migration_tests.servers import free_port

# As from a pip-installed package, with no repository around it: serve_ui writes a workspace.
SCRIPT = """
import sys
from pathlib import Path
from doctor_migration.demo import ui
ui.REPO_WORKSPACE = Path(sys.argv[1]) / "no-checkout" / "workspace.yaml"
sys.exit(ui.serve_ui(Path(sys.argv[1]), {}, port=int(sys.argv[2])))
"""


def processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, process group, state) of every process on the machine."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        table[int(entry.name)] = (int(ppid), int(pgrp), state)
    return table


def location_status(port: int) -> dict[str, str]:
    """Code location name -> load status, as the UI reports them."""
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        entries = json.load(answer)["data"]["workspaceOrError"]["locationEntries"]
    return {e["name"]: e["loadStatus"] for e in entries}


def live_group(group: int) -> list[int]:
    return [pid for pid, (_, pgrp, state) in processes().items() if pgrp == group and state != "Z"]


def test_ctrl_c_stops_webserver_daemon_and_code_server(dagster_home):
    port = free_port()
    started = time.monotonic()
    serve = subprocess.Popen([sys.executable, "-c", SCRIPT, str(dagster_home), str(port)],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = serve.stdout.readline()  # printed once the UI answers
        up = time.monotonic() - started
        assert line.startswith(f"Dagster UI: http://127.0.0.1:{port}"), line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as answer:
            assert answer.status == 200
        assert location_status(port) == {"doctor_migration": "LOADED"}
        assert (dagster_home / "workspace.yaml").exists()
        [leader] = [pid for pid, (ppid, _, _) in processes().items() if ppid == serve.pid]
        group = os.getpgid(leader)
        assert group == leader != os.getpgid(serve.pid)  # a process group of its own
        assert len(live_group(group)) >= 3  # dagster dev, webserver, daemon (and code servers)

        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=30) == 0
        assert serve.stdout.read().strip() == "Dagster UI stopped."
        assert live_group(group) == []
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if serve.poll() is None:
            serve.kill()
    print(f"UI answered after {up:.1f} s")



def test_demo_ui_configures_the_instance_first_and_says_how_to_reach_everything(tmp_path):
    """`demo --ui` in a DAGSTER_HOME that exists but holds no dagster.yaml: no telemetry notice
    (the instance config is written before the first run), and it prints a URL for each
    database (no password) that reaches it, then the UI's."""
    import psycopg

    home = tmp_path / "fresh_home"
    home.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("SOURCE_DATABASE_URL", "SUPABASE_DATABASE_URL")}
    demo = subprocess.Popen(
        [sys.executable, "-m", "doctor_migration.cli", "demo", "--ui", "--doctors", "40",
         "--port", str(port)],
        env={**env, "DAGSTER_HOME": str(home)}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        while not (lines and lines[-1].startswith("Dagster UI:")):
            line = demo.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        text = "".join(lines)
        assert "Telemetry" not in text and "Welcome to Dagster" not in text, text
        assert "telemetry:\n  enabled: false" in (home / "dagster.yaml").read_text()
        assert lines[-1].startswith(f"Dagster UI: http://127.0.0.1:{port}")
        urls = {}
        for name in ("Legacy source (SELECT-only role)", "Supabase target (role postgres)"):
            [line] = [x for x in lines if x.startswith(name + ":")]
            urls[name] = line.split("psql '", 1)[1].rstrip().rstrip("'")
            assert ":@" not in urls[name] and "password" not in urls[name]
        with psycopg.connect(urls["Legacy source (SELECT-only role)"]) as conn:
            assert conn.execute("SELECT count(*) FROM auth_user").fetchone()[0] > 40
        with psycopg.connect(urls["Supabase target (role postgres)"]) as conn:
            assert conn.execute("SELECT count(*) FROM public.doctors "
                                "WHERE legacy_user_id IS NOT NULL").fetchone()[0] == 40
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
