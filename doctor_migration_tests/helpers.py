"""Helpers shared by the tests: fresh database pairs and exact snapshots of the target."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import psycopg

from doctor_migration.demo.world import LegacyWorld, TargetWorld, write_legacy, write_target

_names = itertools.count()


@dataclass
class Databases:
    """A legacy database and a target database of one test, with the world written in them."""

    source_url: str
    target_url: str
    world: LegacyWorld
    target_world: TargetWorld | None

    def source(self, **kw) -> psycopg.Connection:
        return psycopg.connect(self.source_url, autocommit=True, **kw)

    def target(self, **kw) -> psycopg.Connection:
        return psycopg.connect(self.target_url, autocommit=True, **kw)


def make_databases(servers, world: LegacyWorld, *, with_target: bool = True) -> Databases:
    source, target = servers
    n = next(_names)
    source_url = source.create_database(f"legacy_{n}")
    target_url = target.create_database(f"target_{n}")
    with psycopg.connect(source_url) as conn:
        write_legacy(conn, world)
    target_world = None
    if with_target:
        with psycopg.connect(target_url) as conn:
            target_world = write_target(conn, world)
    return Databases(source_url, target_url, world, target_world)


def snapshot(url: str) -> bytes:
    """Every row of public.doctors and of the ledger, byte for byte, in a stable order."""
    parts = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = ["public.doctors"]
        if conn.execute("SELECT to_regclass('doctor_migration.runs')").fetchone()[0]:
            tables += ["doctor_migration.runs", "doctor_migration.row_changes"]
        for table in tables:
            with conn.cursor().copy(
                f"COPY (SELECT * FROM {table} ORDER BY 1, 2) TO STDOUT"
            ) as copy:
                parts.append(table.encode() + b"\n" + b"".join(bytes(b) for b in copy))
    return b"\n".join(parts)


def doctors(url: str, where: str = "TRUE") -> dict:
    """public.doctors rows as dicts, by id."""
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(f"SELECT * FROM public.doctors WHERE {where}")
        names = [d.name for d in cur.description]
        return {row[0]: dict(zip(names, row)) for row in cur.fetchall()}


def migrate(expected_count: int, **kw):
    """A migration run in the test's DAGSTER_HOME, quietly."""
    from doctor_migration import runner

    return runner.migrate(expected_count, progress=False, **kw)


def lone_clean_ids(world: LegacyWorld) -> list[int]:
    """Clean users that no other user duplicates (by e-mail or name), so excluding one of
    them really removes a doctor."""
    def key(u):
        return u.email.strip().lower() if u.email else f"{u.first_name}_{u.last_name}".lower()
    keys = [key(u) for u in world.users]
    return [u.id for u in world.users if u.kind == "clean" and keys.count(key(u)) == 1]
