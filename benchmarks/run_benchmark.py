"""doctor-migration against a hand-written SQL floor, on generated worlds of growing size.

    .venv/bin/python benchmarks/run_benchmark.py                 # 399, 1k, 10k, 100k; 3 repeats
    .venv/bin/python benchmarks/run_benchmark.py --huge          # and 1M
    .venv/bin/python benchmarks/run_benchmark.py --sizes 399 1000 --repeat 5

For every size N, on the same world (benchmarks/world.py), each repetition times:

  floor        a plain SQL pipeline in this process: COPY of step 1.1's result (the tool's own
               select_clean_doctors.sql) out of the source, piped block by block into a temp
               table on the target, then set-based UPDATE / INSERT / DELETE into public.doctors
               in one transaction (benchmarks/sql/floor_*.sql); no Python per row
  floor_rerun  the same on unchanged data (writes nothing)
  plan         `doctor-migration plan --expected-count N` from the reset target
  run          `doctor-migration run --expected-count N` from the reset target
  rerun        `doctor-migration run` again on unchanged data (must write nothing)
  rollback     `doctor-migration rollback RUN_ID` of `run` ("n/a" while the command is absent)

The tool runs as a user runs it: a new process (.venv/bin/doctor-migration) with
SOURCE_DATABASE_URL (a SELECT-only role), SUPABASE_DATABASE_URL and a fresh DAGSTER_HOME.
Between the floor and the tool the target is reset (migrated doctors deleted, schema
doctor_migration dropped, VACUUM FULL, CHECKPOINT on both servers), so both start alike.
Peak RSS is the tool process's own maximum resident set size (os.wait4's rusage); the Dagster
step during which it peaked comes from polling the RSS with psutil. Per-step seconds come from
the run's event log in its DAGSTER_HOME; plan step 4's queries are timed at --step4-size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.world import BenchWorld, bench_sql, build_world, drop_world, step_1_1
from doctor_migration.demo.embedded import EmbeddedPostgres

DEFAULT_SIZES = [399, 1_000, 10_000, 100_000]
HUGE = 1_000_000
STEPS = ["floor", "floor_rerun", "plan", "run", "rerun", "rollback"]
# Dagster's IO manager stores no data since the rows stay in PostgreSQL (the stage); these keys
# only appear for a version of the tool that still passes values between steps.
STORE = " (of which: the IO manager storing its output)"
LOAD = " (of which: STEP_START to its last input loaded)"
RUN_LINE = re.compile(r"^Dagster run (\S+) \((\w+)\)", re.MULTILINE)
CLI_TIMEOUT = 3600
INDEX_VARIANTS = {
    "none": None,
    "btree (legacy_user_id)":
        "CREATE INDEX bench_doctors_legacy_user_id ON public.doctors (legacy_user_id)",
    "unique btree (legacy_user_id) WHERE legacy_user_id IS NOT NULL":
        "CREATE UNIQUE INDEX bench_doctors_legacy_user_id ON public.doctors (legacy_user_id) "
        "WHERE legacy_user_id IS NOT NULL",
}


@dataclass
class Timing:
    """One timed step."""

    seconds: float
    ok: bool = True
    peak_rss_kib: int | None = None
    run_id: str | None = None
    note: str = ""
    peak_step: str = ""
    breakdown: dict[str, float] = field(default_factory=dict)


@dataclass
class SizeResult:
    """Every timing of one world size."""

    n: int
    world: BenchWorld
    timings: dict[str, list[Timing]] = field(default_factory=dict)
    step4: list[dict] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    def add(self, step: str, timing: Timing) -> Timing:
        self.timings.setdefault(step, []).append(timing)
        return timing


# --- the target between runs ------------------------------------------------------------------

def reset_target(world: BenchWorld, servers: tuple[EmbeddedPostgres, EmbeddedPostgres]) -> None:
    """Migrated doctors and the ledger gone, the table compacted, both servers checkpointed."""
    with psycopg.connect(world.target_url, autocommit=True) as conn:
        conn.execute(bench_sql("reset_target"))
        conn.execute("VACUUM (FULL, ANALYZE) public.doctors")
    for server in servers:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CHECKPOINT")


def ledger_counts(world: BenchWorld, run_id: str) -> tuple[int, int, int, int] | None:
    with psycopg.connect(world.target_url, autocommit=True) as conn:
        row = conn.execute(bench_sql("select_ledger_run"), {"run_id": run_id}).fetchone()
    return tuple(row) if row else None


def stage_megabytes(world: BenchWorld) -> float:
    """Disk the tool's stage (doctor_migration's tables other than the ledger) takes now."""
    with psycopg.connect(world.target_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0) / 1048576.0 FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'doctor_migration' "
            "AND c.relkind = 'r' AND c.relname NOT IN ('runs', 'row_changes')").fetchone()[0]


def migrated_count(world: BenchWorld) -> int:
    with psycopg.connect(world.target_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM public.doctors WHERE legacy_user_id IS NOT NULL").fetchone()[0]


# --- the floor --------------------------------------------------------------------------------

def run_floor(world: BenchWorld, *, commit: bool = True) -> tuple[Timing, dict[str, int]]:
    """Step 1.1 out of the source by COPY, into a temp table on the target, merged set-based
    in one transaction. With commit=False the merge is rolled back (a consistency probe)."""
    started = time.perf_counter()
    counts: dict[str, int] = {}
    phases: dict[str, float] = {}
    mark = started

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = now - mark
        mark = now

    copy_out = sql.SQL("COPY ({}\n) TO STDOUT").format(sql.SQL(step_1_1()))
    with (psycopg.connect(world.reader_url, autocommit=True) as src,
          psycopg.connect(world.target_url) as tgt):
        phase("connect")
        with tgt.transaction(force_rollback=not commit):
            tgt.execute("SELECT set_config('TimeZone', 'UTC', true)")
            tgt.execute(bench_sql("floor_create_clean"))
            with src.cursor().copy(copy_out) as out:
                cur = tgt.cursor()
                with cur.copy(bench_sql("floor_copy_in")) as into:
                    for block in out:
                        into.write(block)
            counts["clean"] = cur.rowcount
            phase("step 1.1 COPY out of the source, into the target")
            counts["mapped"] = tgt.execute(bench_sql("floor_map")).rowcount
            phase("map (join profiles, CREATE TEMP TABLE AS)")
            counts["updated"] = tgt.execute(bench_sql("floor_update")).rowcount
            phase("UPDATE changed rows")
            counts["inserted"] = tgt.execute(bench_sql("floor_insert")).rowcount
            phase("INSERT new rows")
            counts["deleted"] = tgt.execute(bench_sql("floor_delete")).rowcount
            phase("DELETE no longer clean")
        phase("COMMIT" if commit else "ROLLBACK")
    seconds = time.perf_counter() - started
    ok = counts["clean"] == counts["mapped"] == world.n
    timing = Timing(seconds, ok=ok, note="" if ok else f"floor counts {counts}", breakdown=phases)
    return timing, counts


# --- the tool ---------------------------------------------------------------------------------

def cli_path() -> Path:
    """The doctor-migration entry point next to this interpreter (.venv/bin)."""
    return Path(sys.executable).parent / "doctor-migration"


def fresh_dagster_home(root: Path, name: str) -> Path:
    home = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def run_cli(args: list[str], env: dict[str, str], log: Path) -> tuple[Timing, str]:
    """The CLI as a new process; wall time, exit status and its own peak RSS (os.wait4), and
    when (wall clock) the RSS polled every 20 ms was highest."""
    with log.open("w") as out:
        started = time.perf_counter()
        wall_start = time.time()
        proc = subprocess.Popen([str(cli_path()), *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=log.parent)
        watched = psutil.Process(proc.pid)
        deadline = started + CLI_TIMEOUT
        polled_peak, peak_at, next_poll = 0, wall_start, 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            if time.perf_counter() >= next_poll:
                next_poll = time.perf_counter() + 0.02
                try:
                    rss = watched.memory_info().rss
                except psutil.Error:
                    rss = 0
                if rss > polled_peak:
                    polled_peak, peak_at = rss, time.time()
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    found = RUN_LINE.search(text)
    timing = Timing(seconds, ok=proc.returncode == 0, peak_rss_kib=usage.ru_maxrss,
                    run_id=found.group(1) if found else None)
    timing.breakdown["_wall_start"] = wall_start
    timing.breakdown["_peak_at"] = peak_at
    if not timing.ok:
        tail = " | ".join(text.strip().splitlines()[-3:])
        timing.note = f"exit {proc.returncode}: {tail[:300]}"
    return timing, text


def tool_env(world: BenchWorld, home: Path) -> dict[str, str]:
    return {**os.environ, "SOURCE_DATABASE_URL": world.reader_url,
            "SUPABASE_DATABASE_URL": world.target_url, "DAGSTER_HOME": str(home)}


def rollback_args() -> list[str] | None:
    """The rollback command's extra arguments, or None when the CLI has no rollback yet."""
    probe = subprocess.run([str(cli_path()), "rollback", "--help"], capture_output=True,
                           text=True, timeout=120, check=False)
    if probe.returncode != 0:
        return None
    return [flag for flag in ("--yes",) if flag in probe.stdout]


def step_breakdown(home: Path, run_id: str, wall_start: float, wall_seconds: float,
                   peak_at: float | None = None) -> tuple[dict[str, float], str]:
    """Seconds per Dagster step of one run (STEP_START to STEP_SUCCESS/FAILURE), read from the
    run's DAGSTER_HOME instance, plus process start-up before RUN_START and the tail after the
    run ended; within a step, how long its inputs took to load (STEP_START to the last
    LOADED_INPUT) and its output to store (STEP_OUTPUT to HANDLED_OUTPUT). Also the step
    that was running at `peak_at` (when the polled RSS peaked)."""
    import dagster as dg

    starts: dict[str, float] = {}
    result: dict[str, float] = {}
    first = run_start = run_end = None
    peak_step = "start-up or exit"
    kinds = dg.DagsterEventType
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None:
                continue
            kind, step = event.event_type, entry.step_key
            first = entry.timestamp if first is None else min(first, entry.timestamp)
            if kind == kinds.RUN_START:
                run_start = entry.timestamp
            elif kind in (kinds.RUN_SUCCESS, kinds.RUN_FAILURE):
                run_end = entry.timestamp
            elif kind == kinds.STEP_START:
                starts[step] = entry.timestamp
            elif kind == kinds.LOADED_INPUT and step in starts:
                result[f"{step}{LOAD}"] = entry.timestamp - starts[step]
            elif kind == kinds.STEP_OUTPUT:
                starts[f"{step}/output"] = entry.timestamp
            elif kind == kinds.HANDLED_OUTPUT and f"{step}/output" in starts:
                result[f"{step}{STORE}"] = (
                    entry.timestamp - starts[f"{step}/output"])
            elif kind in (kinds.STEP_SUCCESS, kinds.STEP_FAILURE) and step in starts:
                result[step] = entry.timestamp - starts[step]
                if peak_at is not None and starts[step] <= peak_at <= entry.timestamp:
                    peak_step = step
    if first is not None and run_start is not None:
        result["(process start to the run's first event)"] = first - wall_start
        result["(first event to RUN_START)"] = run_start - first
    if run_start is not None and run_end is not None:
        steps = sum(v for k, v in result.items() if "(" not in k)
        result["(in the run, between steps)"] = (run_end - run_start) - steps
        result["(RUN_SUCCESS to process exit)"] = wall_start + wall_seconds - run_end
    return result, peak_step


# --- plan step 4 ------------------------------------------------------------------------------

def explain_ms(conn: psycopg.Connection, query: str, params: dict | None, repeat: int
               ) -> tuple[list[float], str]:
    """Execution time in ms of EXPLAIN ANALYZE, `repeat` times after one warm-up, and the
    top plan node(s)."""
    times, shape = [], ""
    for i in range(repeat + 1):
        plan = conn.execute(query, params).fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        top = plan[0]
        if i:
            times.append(top["Execution Time"])
        node, kinds = top["Plan"], []
        while node:
            kinds.append(node["Node Type"] + (f" on {node['Index Name']}"
                                              if "Index Name" in node else ""))
            node = (node.get("Plans") or [None])[-1] if node["Node Type"] != "Hash Join" \
                else None
        shape = " > ".join(kinds[:3])
    return times, shape


def measure_step4(world: BenchWorld, repeat: int = 5) -> list[dict]:
    """Plan step 4's two queries over the target as a run left it, per index variant."""
    rows = []
    with psycopg.connect(world.target_url, autocommit=True) as conn:
        conn.execute("ANALYZE public.doctors")
        conn.execute("ANALYZE public.profiles")
        legacy_id = conn.execute(
            "SELECT legacy_user_id FROM public.doctors WHERE legacy_user_id IS NOT NULL "
            "ORDER BY legacy_user_id OFFSET (SELECT count(*) / 2 FROM public.doctors) LIMIT 1"
        ).fetchone()[0]
        migrated = conn.execute(
            "SELECT count(*) FROM public.doctors WHERE legacy_user_id IS NOT NULL").fetchone()[0]
        for variant, ddl in INDEX_VARIANTS.items():
            conn.execute("DROP INDEX IF EXISTS public.bench_doctors_legacy_user_id")
            if ddl:
                conn.execute(ddl)
                conn.execute("ANALYZE public.doctors")
            for name, query, params in (
                ("4.1 profile join", bench_sql("step4_profile_join"), None),
                ("4.2 legacy id lookup", bench_sql("step4_legacy_lookup"),
                 {"legacy_user_id": legacy_id}),
            ):
                times, shape = explain_ms(conn, query, params, repeat)
                rows.append({"query": name, "index": variant, "min_ms": min(times),
                             "median_ms": statistics.median(times), "plan": shape,
                             "legacy_user_id": legacy_id, "doctors": migrated})
        conn.execute("DROP INDEX IF EXISTS public.bench_doctors_legacy_user_id")
    return rows


# --- one size ---------------------------------------------------------------------------------

def bench_size(n: int, repeat: int, servers: tuple[EmbeddedPostgres, EmbeddedPostgres],
               work: Path, rollback: list[str] | None, step4: bool) -> SizeResult:
    source, target = servers
    print(f"\n== N = {n}: building the world", flush=True)
    world = build_world(source, target, n)
    print(f"   {world.users} users, {world.patients} patients, {world.profiles} profiles in "
          f"{world.seconds['total']:.1f} s", flush=True)
    result = SizeResult(n=n, world=world)
    logs = work / f"n{n}"
    logs.mkdir(exist_ok=True)

    def say(step: str, rep: int, t: Timing) -> None:
        rss = f", peak RSS {t.peak_rss_kib / 1024:.0f} MiB" if t.peak_rss_kib else ""
        rss += f" (in {t.peak_step})" if t.peak_step else ""
        flag = "" if t.ok else f"  FAILED {t.note}"
        print(f"   [{rep}] {step:<12} {t.seconds:8.2f} s{rss}{flag}", flush=True)

    def tool(step: str, rep: int, args: list[str], home: Path) -> Timing:
        timing, _ = run_cli(args, tool_env(world, home), logs / f"{step}-{rep}.log")
        wall_start = timing.breakdown.pop("_wall_start")
        peak_at = timing.breakdown.pop("_peak_at")
        if timing.run_id and step in ("run", "rerun", "plan"):
            timing.breakdown, timing.peak_step = step_breakdown(
                home, timing.run_id, wall_start, timing.seconds, peak_at)
        say(step, rep, result.add(step, timing))
        return timing

    count = ["--expected-count", str(n)]
    try:
        for rep in range(1, repeat + 1):
            reset_target(world, servers)
            say("floor", rep, result.add("floor", run_floor(world)[0]))
            floor_rerun, counts = run_floor(world)
            if counts["inserted"] + counts["updated"] + counts["deleted"]:
                floor_rerun.ok, floor_rerun.note = False, f"rerun wrote {counts}"
            say("floor_rerun", rep, result.add("floor_rerun", floor_rerun))

            reset_target(world, servers)
            tool("plan", rep, ["plan", *count], fresh_dagster_home(work, f"plan-{n}-{rep}"))
            home = fresh_dagster_home(work, f"run-{n}-{rep}")
            run = tool("run", rep, ["run", *count], home)
            if run.ok and run.run_id:
                written = ledger_counts(world, run.run_id)
                if written is None or written[0] != n or migrated_count(world) != n:
                    run.ok, run.note = False, f"ledger says {written}"
            if rep == 1 and run.ok:
                result.checks.append(f"the stage after plan and run: "
                                     f"{stage_megabytes(world):.1f} MiB (UNLOGGED tables)")
            rerun = tool("rerun", rep, ["run", *count], home)
            if rerun.ok and rerun.run_id:
                written = ledger_counts(world, rerun.run_id)
                if written is None or sum(written[:3]) != 0:
                    rerun.ok, rerun.note = False, f"rerun wrote {written}"
            if rep == 1 and run.ok:
                # The floor's merge over the tool's rows, rolled back: nothing to update means
                # both map every column the same way.
                probe = run_floor(world, commit=False)[1]
                same = probe["inserted"] == probe["updated"] == probe["deleted"] == 0
                result.checks.append(
                    f"floor and tool map identically: {'yes' if same else 'NO'} {probe}")
            if rep == repeat and step4 and run.ok:
                result.step4 = measure_step4(world)
            if rollback is None:
                result.add("rollback", Timing(float("nan"), ok=False, note="n/a"))
            elif run.run_id:
                rb = tool("rollback", rep, ["rollback", run.run_id, *rollback], home)
                if rb.ok and migrated_count(world) != 0:
                    rb.ok, rb.note = False, "migrated doctors left after rollback"
    finally:
        drop_world(source, target, n)
    return result


# --- reporting --------------------------------------------------------------------------------

def _stats(timings: list[Timing]) -> tuple[float, float] | None:
    good = [t.seconds for t in timings if t.ok]
    if not good:
        return None
    return min(good), statistics.median(good)


def results_table(results: list[SizeResult]) -> str:
    lines = [("| N | step | min s | median s | x floor (median) | rows/s (median) | "
              "peak RSS MiB (max) | peak RSS during | ok |"),
             "|---:|---|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        floor = _stats(r.timings.get("floor", []))
        for step in STEPS:
            timings = r.timings.get(step, [])
            if not timings:
                continue
            stats = _stats(timings)
            failures = [t for t in timings if not t.ok]
            if stats is None:
                note = failures[0].note if failures else ""
                lines.append(f"| {r.n:,} | {step} | n/a | n/a | | | | | {note[:80]} |")
                continue
            lo, med = stats
            ratio = f"{med / floor[1]:.2f}" if floor else ""
            rss = [t.peak_rss_kib for t in timings if t.peak_rss_kib]
            rss_text = f"{max(rss) / 1024:.0f}" if rss else "-"
            ok = f"{len(timings) - len(failures)}/{len(timings)}"
            during = Counter(t.peak_step for t in timings if t.peak_step).most_common(1)
            lines.append(f"| {r.n:,} | {step} | {lo:.2f} | {med:.2f} | {ratio} | "
                         f"{r.n / med:,.0f} | {rss_text} | {during[0][0] if during else ''} | "
                         f"{ok} |")
    return "\n".join(lines)


def breakdown_table(result: SizeResult, step: str) -> str:
    runs = [t.breakdown for t in result.timings.get(step, []) if t.ok and t.breakdown]
    if not runs:
        return ""
    seen = list(dict.fromkeys(k for b in runs for k in b))
    keys = []
    for key in (k for k in seen if STORE not in k and LOAD not in k):
        keys += [key] + [k for k in seen if k in (f"{key}{LOAD}", f"{key}{STORE}")]
    wall = statistics.median(t.seconds for t in result.timings[step] if t.ok)
    lines = [f"| {step} at N = {result.n:,}: step | median s | share of wall |",
             "|---|---:|---:|"]
    for key in keys:
        values = [b[key] for b in runs if key in b]
        med = statistics.median(values)
        lines.append(f"| {key} | {med:.2f} | {med / wall:.0%} |")
    lines.append(f"| (wall, median) | {wall:.2f} | 100% |")
    return "\n".join(lines)


def step4_table(rows: list[dict]) -> str:
    if not rows:
        return ""
    lines = [(f"Plan step 4 at {rows[0]['doctors']:,} migrated doctors (legacy_user_id = "
              f"{rows[0]['legacy_user_id']}), EXPLAIN ANALYZE execution time, 5 runs after a "
              "warm-up:"), "",
             "| query | index on doctors | min ms | median ms | plan | target | met |",
             "|---|---|---:|---:|---|---:|---|"]
    for row in rows:
        target = 100.0 if row["query"].startswith("4.1") else 10.0
        lines.append(f"| {row['query']} | {row['index']} | {row['min_ms']:.3f} | "
                     f"{row['median_ms']:.3f} | {row['plan']} | < {target:.0f} ms | "
                     f"{'yes' if row['median_ms'] < target else 'no'} |")
    return "\n".join(lines)


def cli_import_seconds(repeat: int = 3) -> float:
    """A new interpreter importing what `doctor-migration run` imports before it can start
    (NaN when the import fails: the package is being edited)."""
    code = "import doctor_migration.runner, doctor_migration.definitions"
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        if subprocess.run([sys.executable, "-c", code], capture_output=True,
                          check=False).returncode:
            return float("nan")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES, metavar="N",
                        help=f"clean doctors per world (default: {DEFAULT_SIZES})")
    parser.add_argument("--huge", action="store_true", help=f"also N = {HUGE:,}")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per size (default 3)")
    parser.add_argument("--step4-size", type=int, default=100_000, metavar="N",
                        help="the size at which plan step 4's queries are timed (default 100000)")
    parser.add_argument("--work", type=Path, default=None,
                        help="where DAGSTER_HOMEs and logs go (default: a temp directory)")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes + ([HUGE] if args.huge else [])))
    work = args.work or Path(tempfile.mkdtemp(prefix="doctor-migration-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    rollback = rollback_args()
    available = "available" if rollback is not None else \
        "n/a (doctor-migration rollback --help fails)"
    print(f"work directory {work}; rollback command: {available}")
    import_seconds = cli_import_seconds()
    print(f"a new interpreter importing the CLI's run path: {import_seconds:.2f} s")
    started = time.perf_counter()
    results = []
    with EmbeddedPostgres() as source, EmbeddedPostgres() as target:
        for n in sizes:
            results.append(bench_size(n, args.repeat, (source, target), work, rollback,
                                      step4=n == args.step4_size))
    print(f"\nall sizes in {time.perf_counter() - started:.0f} s; "
          f"{args.repeat} repetitions; x floor = median / the floor's median at the same N\n")
    print(results_table(results))
    for r in results:
        for step in ("floor", "floor_rerun", "run", "rerun"):
            table = breakdown_table(r, step)
            if table:
                print("\n" + table)
        for line in r.checks:
            print(f"\nN = {r.n:,}: {line}")
        if r.step4:
            print("\n" + step4_table(r.step4))
    print(f"\nimport of the CLI's run path in a new interpreter: {import_seconds:.2f} s")
    failed = [(r.n, s) for r in results for s, ts in r.timings.items()
              if any(not t.ok and t.note != "n/a" for t in ts)]
    if failed:
        print(f"\nfailures: {failed} (logs under {work})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
