"""Large generated worlds for the benchmark, built set-based inside PostgreSQL.

The same kinds of traps as doctor_migration/demo/world.py (inactive users, no settings and no
office, only archived patients, no patients, test/demo/internal accounts, duplicate e-mails in
other case and spacing that lose step 1.1's DISTINCT ON by each tie-break, a duplicate by
first_last name, NULL archived), about 20 patients per doctor, and a target with the contract
schema and a doctor profile for every user who has a patient. No Python runs per row: the users
are decided in one temp table on the source with generate_series, the legacy tables are filled
from it with INSERT ... SELECT, and the profiles go to the target by COPY TO STDOUT piped into
COPY FROM STDIN.

    .venv/bin/python benchmarks/world.py 100000     # build one world, print what it holds
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import psycopg
from psycopg import sql

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from doctor_migration.demo.embedded import EmbeddedPostgres
from doctor_migration.demo.world import FIRST_NAMES, LAST_NAMES
from doctor_migration.migration.db import load_sql

SQL_DIR = Path(__file__).resolve().parent / "sql"
READER = "legacy_reader"
COPY_BLOCK = 1 << 20  # bytes per block when piping COPY between the servers


def bench_sql(name: str) -> str:
    """The statement in benchmarks/sql/<name>.sql."""
    return (SQL_DIR / f"{name}.sql").read_text()


def contract_sql(name: str) -> str:
    """One of the contract's schema files in doctor_migration/demo/."""
    return files("doctor_migration").joinpath("demo", name).read_text()


def step_1_1() -> str:
    """The plan's step 1.1, the very text the tool runs, without its final semicolon."""
    return load_sql("select_clean_doctors").rstrip().rstrip(";")


def pipe_copy(source: psycopg.Connection, copy_out: sql.Composable | str,
              target: psycopg.Connection, copy_in: sql.Composable | str) -> int:
    """COPY ... TO STDOUT on `source` streamed into COPY ... FROM STDIN on `target`, block by
    block; returns the rows the target's COPY loaded."""
    with source.cursor().copy(copy_out) as out:
        cur = target.cursor()
        with cur.copy(copy_in) as into:
            for block in out:
                into.write(block)
    return cur.rowcount


@dataclass
class BenchWorld:
    """One generated world: a legacy database and its Supabase target."""

    n: int
    source_url: str      # superuser
    reader_url: str      # SELECT on the plan's four tables only
    target_url: str
    users: int = 0
    patients: int = 0
    profiles: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _grant_reader(conn: psycopg.Connection, role: str = READER) -> None:
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    conn.execute(sql.SQL(bench_sql("grant_reader")).format(
        database=sql.Identifier(conn.info.dbname), role=sql.Identifier(role)))


def build_world(source: EmbeddedPostgres, target: EmbeddedPostgres, n: int, *,
                seed: float = 0.2025, verify: bool = True) -> BenchWorld:
    """n clean doctors among traps in a fresh database `bench_legacy_<n>` on `source`, and
    `bench_target_<n>` on `target` with the contract schema and the doctor profiles."""
    if n < 10:
        raise ValueError("a benchmark world needs at least 10 clean doctors")
    started = time.perf_counter()
    source_url = source.create_database(f"bench_legacy_{n}")
    target_url = target.create_database(f"bench_target_{n}")
    world = BenchWorld(n=n, source_url=source_url, reader_url=source.url(f"bench_legacy_{n}",
                       READER), target_url=target_url)
    names = {"n": n, "first_names": FIRST_NAMES, "last_names": LAST_NAMES}
    with (psycopg.connect(source_url, autocommit=True) as src,
          psycopg.connect(target_url, autocommit=True) as tgt):
        src.execute("SET synchronous_commit = off")
        tgt.execute("SET synchronous_commit = off")
        # Before the session's first temp table: room for bench_users (1M users: ~150 MB).
        src.execute("SET temp_buffers = '256MB'")
        with src.transaction():
            src.execute("SELECT setseed(%s)", (seed,))
            src.execute(bench_sql("world_create_users"))
            src.execute(bench_sql("world_clean_users"), names)
            src.execute(bench_sql("world_special_users"))
            src.execute(bench_sql("world_trap_users"), names)
        src.execute("ANALYZE bench_users")
        mark = time.perf_counter()
        world.seconds["users"] = mark - started

        with src.transaction():
            src.execute(contract_sql("legacy_source.sql"))
            src.execute("SET LOCAL session_replication_role = replica")
            src.execute(bench_sql("world_fill_legacy"))
        src.execute("ANALYZE")
        world.seconds["legacy"] = time.perf_counter() - mark
        mark = time.perf_counter()

        with tgt.transaction():
            tgt.execute(contract_sql("supabase_target.sql"))
            world.profiles = pipe_copy(src, bench_sql("target_profiles_out"),
                                       tgt, bench_sql("target_profiles_in"))
            tgt.execute(bench_sql("target_extras"))
        tgt.execute("ANALYZE")
        world.seconds["target"] = time.perf_counter() - mark
        mark = time.perf_counter()

        for kind, users, patients in src.execute(bench_sql("world_summary")).fetchall():
            world.kinds[kind] = users
            world.users += users
            world.patients += int(patients)
        world.patients += 1  # nobody's patient
        if verify:
            selected, clean = src.execute(sql.SQL(bench_sql("world_verify")).format(
                step_1_1=sql.SQL(step_1_1()))).fetchone()
            if not selected == clean == n:
                raise AssertionError(f"step 1.1 selects {selected} users, {clean} of them clean, "
                                     f"where the world has {n} clean doctors")
            world.seconds["verify"] = time.perf_counter() - mark
        _grant_reader(src)
    world.seconds["total"] = time.perf_counter() - started
    return world


def drop_world(source: EmbeddedPostgres, target: EmbeddedPostgres, n: int) -> None:
    """Drop the two databases of the world of size n."""
    for server, name in ((source, f"bench_legacy_{n}"), (target, f"bench_target_{n}")):
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build one benchmark world and describe it.")
    parser.add_argument("n", type=int, nargs="?", default=100_000, help="clean doctors")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip holding step 1.1 against the generator's answer")
    args = parser.parse_args(argv)
    with EmbeddedPostgres() as source, EmbeddedPostgres() as target:
        world = build_world(source, target, args.n, verify=not args.no_verify)
    print(f"{world.n} clean doctors, {world.users} users, {world.patients} patients, "
          f"{world.profiles} doctor profiles")
    print("users by kind: " + ", ".join(f"{k} {v}" for k, v in world.kinds.items()))
    print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in world.seconds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
