"""Connections to the source and the target: safe settings, readable errors, no secrets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources import files

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from doctor_migration.migration.errors import MigrationError

APPLICATION_NAME = "doctor-migration"


@cache
def load_sql(name: str) -> str:
    """The statement in doctor_migration/sql/<name>.sql."""
    return files("doctor_migration").joinpath("sql", f"{name}.sql").read_text()


def redact(url: str) -> str:
    """The URL with any password removed, for messages and logs."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
    if "password" in params:
        params["password"] = "***"
    host = params.get("host", "")
    where = f"{host}:{params['port']}" if params.get("port") else host
    return f"{params.get('user', '')}@{where}/{params.get('dbname', '')}"


def scrub(message: str, url: str) -> str:
    """The message with the URL's password, if any, blotted out."""
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        password = None
    return message.replace(password, "***") if password else message


@contextmanager
def connect(url: str, role: str, **kwargs) -> Iterator[psycopg.Connection]:
    """A connection to the `role` database ("source" or "target"), closed on exit.

    No prepared statements, so it also works through a transaction pooler (Supabase's 6543).
    """
    if not url:
        raise MigrationError(f"no URL for the {role} database: set its environment variable")
    try:
        conninfo = make_conninfo(url, application_name=APPLICATION_NAME, connect_timeout=10)
    except psycopg.ProgrammingError as exc:
        raise MigrationError(f"the {role} database URL is not valid: {scrub(str(exc), url)}") from None
    try:
        conn = psycopg.connect(conninfo, prepare_threshold=None, **kwargs)
    except psycopg.OperationalError as exc:
        detail = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", url)
        raise MigrationError(
            f"cannot connect to the {role} database {redact(url)}: {detail}"
        ) from None
    try:
        yield conn
    finally:
        conn.close()
