"""The embedded default: a generated legacy world and a Supabase-shaped target in two throwaway
servers, reached as the roles an operator has in production: a SELECT-only reader on the
source, Supabase's `postgres` (not a superuser) on the target."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files

import psycopg
from psycopg import sql

from doctor_migration.demo.embedded import EmbeddedPostgres, supabase_server
from doctor_migration.demo.world import generate_world, write_legacy, write_target
from doctor_migration.names import EXPECTED_COUNT

READER = "legacy_reader"
TARGET_ROLE = "postgres"


def grant_select_only(url: str, role: str = READER) -> None:
    """A login role (made if missing) that may only SELECT the plan's four tables: no TEMP,
    no writes."""
    text = files("doctor_migration").joinpath("demo", "grant_select_only.sql").read_text()
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL(text).format(role=sql.Identifier(role),
                                          database=sql.Identifier(conn.info.dbname)))


@contextmanager
def demo_environment(n_clean: int = EXPECTED_COUNT) -> Iterator[dict[str, str]]:
    """Start both servers, build the world, yield the environment a run needs; stop on exit."""
    with EmbeddedPostgres() as source, supabase_server() as target:
        world = generate_world(n_clean)
        source_url = source.create_database("legacy")
        target.create_database("postgres_target", owner=TARGET_ROLE)
        with psycopg.connect(source_url) as conn:
            write_legacy(conn, world)
        grant_select_only(source_url)
        with psycopg.connect(target.url("postgres_target")) as conn:
            write_target(conn, world)
        yield {
            "SOURCE_DATABASE_URL": source.url("legacy", READER),
            "SUPABASE_DATABASE_URL": target.url("postgres_target", TARGET_ROLE),
        }
