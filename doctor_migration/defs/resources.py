"""The two databases, as Dagster resources built from environment variables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import psycopg
from pydantic import Field

from doctor_migration.migration import db


class PostgresResource(dg.ConfigurableResource):
    """A PostgreSQL database reached by a libpq URL; hands out psycopg 3 connections."""

    url: str = Field(description="libpq URL, e.g. postgresql://user@host:5432/dbname?sslmode=require")
    role: str = Field(default="database", description="What this database is, for messages.")

    @contextmanager
    def connect(self, lock_timeout: str | None = None) -> Iterator[psycopg.Connection]:
        """A connection, closed on exit; its transactions commit or roll back on their own.
        Connecting waits no longer than `lock_timeout`, if given (db.connect)."""
        with db.connect(self.url, self.role, lock_timeout) as conn:
            yield conn


def legacy_source() -> PostgresResource:
    """The legacy Django database, read-only to us."""
    return PostgresResource(url=dg.EnvVar("SOURCE_DATABASE_URL"), role="source")


def supabase_target() -> PostgresResource:
    """The Supabase database the doctors go to."""
    return PostgresResource(url=dg.EnvVar("SUPABASE_DATABASE_URL"), role="target")
