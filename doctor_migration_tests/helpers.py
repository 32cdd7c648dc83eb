"""Helpers shared by the tests: fresh database pairs and exact snapshots of the target."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from functools import partial

import psycopg

from doctor_migration.demo.run import READER, TARGET_ROLE, grant_select_only
from doctor_migration.demo.world import LegacyWorld, TargetWorld, write_legacy, write_target
from doctor_migration.migration import db, seal, stage, target
from doctor_migration.migration.load import LoadResult, load_doctors

_names = itertools.count()


@dataclass
class Databases:
    """A legacy database and a Supabase-shaped target database of one test, with the world
    written in them. The URLs are the tool's, as roles have them in production: a SELECT-only
    reader on the source, Supabase's `postgres` (not a superuser) on the target. The test's own
    setup goes through source() and target(), as the servers' superusers."""

    source_url: str
    target_url: str
    world: LegacyWorld
    target_world: TargetWorld | None
    source_admin_url: str
    target_admin_url: str

    def source(self, **kw) -> psycopg.Connection:
        return psycopg.connect(self.source_admin_url, autocommit=True, **kw)

    def target(self, **kw) -> psycopg.Connection:
        return psycopg.connect(self.target_admin_url, autocommit=True, **kw)


def make_databases(servers, world: LegacyWorld, *, with_target: bool = True,
                   owner: str = TARGET_ROLE) -> Databases:
    """Fresh databases for `world`; the target's tables owned by `owner` (Supabase's
    `postgres`, or `supabase_admin` as in projects created before 2022)."""
    source, target = servers
    n = next(_names)
    source_admin_url = source.create_database(f"legacy_{n}")
    target_admin_url = target.create_database(f"target_{n}", owner=TARGET_ROLE)
    with psycopg.connect(source_admin_url) as conn:
        write_legacy(conn, world)
    grant_select_only(source_admin_url)
    target_world = None
    if with_target:
        with psycopg.connect(target_admin_url) as conn:
            target_world = write_target(conn, world, owner=owner)
    return Databases(source.url(f"legacy_{n}", READER), target.url(f"target_{n}", TARGET_ROLE),
                     world, target_world, source_admin_url, target_admin_url)


def snapshot(url: str) -> bytes:
    """Every row of public.doctors and of the ledger, byte for byte, in a stable order."""
    parts = []
    with psycopg.connect(url, autocommit=True) as conn:
        tables = ["public.doctors"]
        if conn.execute("SELECT to_regclass('doctor_migration.runs')").fetchone()[0]:
            tables += ["doctor_migration.runs", "doctor_migration.row_changes"]
        if conn.execute("SELECT to_regclass('doctor_migration.run_digests')").fetchone()[0]:
            tables.append("doctor_migration.run_digests")
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


def started(url: str, run_id: str) -> str:
    """When a run of the ledger started, as the tool names it: 2024-05-06 07:08:09 UTC."""
    with psycopg.connect(url, autocommit=True) as conn:
        at = conn.execute("SELECT started_at FROM doctor_migration.runs WHERE run_id = %s",
                          (run_id,)).fetchone()[0]
    return f"{at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def migrate(expected_count: int, **kw):
    """A migration run in the test's DAGSTER_HOME, quietly."""
    from doctor_migration import runner

    return runner.migrate(expected_count, progress=False, **kw)


# The steps of a run called as plain functions, without Dagster: one staged world that many
# tests share, or a stage a test edits between two steps.
TIMEOUTS = target.Timeouts()
RUN = "run-under-test"


def gated(dbs: Databases, sid: str) -> list[seal.Seal]:
    """A stage read and sealed as the clean_doctors step leaves it: its seals."""
    with db.connect(dbs.target_url, "target") as conn:
        stage.start(conn, sid, "run", TIMEOUTS)
    stage.stage_source(partial(db.connect, dbs.source_url, "source"),
                       partial(db.connect, dbs.target_url, "target"), sid, "run", TIMEOUTS)
    with db.connect(dbs.target_url, "target") as conn, \
            stage.transaction(conn, sid, "run", TIMEOUTS, repeatable_read=True):
        return [seal.take(conn, name, sid, RUN) for name in ("profile_coverage", "clean_doctors")]


def mapped(dbs: Databases, sid: str, passed: list[seal.Seal]) -> seal.Seal:
    """The doctor_rows step on a gated stage: doctor_rows' seal."""
    with db.connect(dbs.target_url, "target") as conn, \
            stage.transaction(conn, sid, "run", TIMEOUTS, repeatable_read=True):
        return stage.map_doctor_rows(conn, sid, passed, RUN)[1]


def load(dbs: Databases, sid: str, sealed: seal.Seal, expected: int = 40) -> LoadResult:
    with db.connect(dbs.target_url, "target") as conn:
        return load_doctors(conn, sid, run_id=RUN, sealed=sealed, expected_count=expected)


def lone_clean_ids(world: LegacyWorld) -> list[int]:
    """Clean users that no other user duplicates (by e-mail or name), so excluding one of
    them really removes a doctor."""
    def key(u):
        return u.email.strip().lower() if u.email else f"{u.first_name}_{u.last_name}".lower()
    keys = [key(u) for u in world.users]
    return [u.id for u in world.users if u.kind == "clean" and keys.count(key(u)) == 1]


def _full_years(earlier: datetime, later: datetime) -> int:
    years = later.year - earlier.year
    if (earlier.month, earlier.day, earlier.timetz()) > (later.month, later.day, later.timetz()):
        years -= 1
    return years


def years_since(joined: datetime, today: date) -> int:
    """An oracle for step 2.2's EXTRACT(YEAR FROM AGE(joined)) in UTC, written independently of
    PostgreSQL: AGE(x) measures from today's midnight, the year field counts whole years, and
    age(a, b) = -age(b, a), so a date in the future gives zero or a negative number."""
    joined = joined.astimezone(timezone.utc)
    midnight = datetime.combine(today, time(0, tzinfo=timezone.utc))
    if joined <= midnight:
        return _full_years(joined, midnight)
    return -_full_years(midnight, joined)
