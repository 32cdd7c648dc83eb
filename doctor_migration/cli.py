"""doctor-migration: run, plan, demo. Parses arguments, launches the job, prints, exits."""

from __future__ import annotations

import argparse
import os
import sys
import uuid

from doctor_migration import names

EXIT_CODES = f"""exit codes:
  {names.EXIT_OK:<4} done
  {names.EXIT_STOPPED:<4} a stop condition of the plan held, or a rollback was refused; nothing was
       changed (report: no such run)
  {names.EXIT_BAD_INPUT:<4} bad input: an argument, an environment variable, an unreachable
       database, a missing table or grant, a database's setting that cancels the tool
       (statement_timeout, idle_in_transaction_session_timeout), a SQL_ASCII source not in UTF-8
  {names.EXIT_COMMITTED:<4} the load committed, then a later step failed or was interrupted: the
       migration is applied; the last line names the `rollback` that undoes it
  {names.EXIT_BUSY:<4} busy, try again: another run holds the target, or a lock (or, for
       --create-indexes, an older snapshot) stayed held longer than --lock-timeout, or a tool's
       own time limit on the target ran out; nothing was changed
  {names.EXIT_INTERRUPTED:<4} interrupted (Ctrl-C) before the load committed; the target's
       transaction was rolled back"""
# The largest values PostgreSQL's bigint and integer hold (LIMIT is a bigint; auth_user.id,
# Django's AutoField, an integer, and an identity column holds any of them, 0 and negatives too).
BIGINT_MAX, INTEGER_MIN, INTEGER_MAX = 2**63 - 1, -(2**31), 2**31 - 1


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    value = whole_number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    if value > BIGINT_MAX:
        raise argparse.ArgumentTypeError(f"{value} is too large (at most {BIGINT_MAX})")
    return value


def non_negative_int(text: str) -> int:
    """A count that may be 0 (--max-deletes 0: delete nothing)."""
    return positive_int(text) if text.strip() not in ("0", "+0", "-0") else 0


def user_id(text: str) -> int:
    value = whole_number(text)
    if not INTEGER_MIN <= value <= INTEGER_MAX:
        raise argparse.ArgumentTypeError(
            f"{value} is outside the range of auth_user.id, an integer "
            f"({INTEGER_MIN} to {INTEGER_MAX})")
    return value


def run_id(alternative: str):
    """The type of a RUN_ID argument: an empty or blank one (an unset $RUN_ID) is bad input,
    not the newest run."""
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(
                "the run id is empty: give the id of a run (`doctor-migration history` lists "
                f"them), {alternative}")
        return text
    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(names.EXIT_BAD_INPUT, f"doctor-migration: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="doctor-migration", description=(
        "Migrate the clean doctors of a legacy Django database into Supabase, as a Dagster run. "
        "Reads SOURCE_DATABASE_URL and SUPABASE_DATABASE_URL; records runs in DAGSTER_HOME."),
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def lock_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--lock-timeout", default=names.LOCK_TIMEOUT, metavar="DURATION",
                       help="how long to wait for another session's lock before stopping with "
                            f"nothing changed, exit {names.EXIT_BUSY} (default: %(default)s)")

    def gate_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--expected-count", type=positive_int, default=names.EXPECTED_COUNT,
                       metavar="N", help="clean doctors the source must yield "
                                         "(default: %(default)s, the plan's)")
        p.add_argument("--max-deletes", type=non_negative_int, default=None, metavar="N",
                       help="the most migrated doctors that are no longer clean the run may "
                            "delete; above it the run stops before any write (default: the "
                            f"larger of {names.DELETE_LIMIT_FLOOR} and "
                            f"{names.DELETE_LIMIT_PERCENT}%% of the migrated doctors)")
        lock_option(p)

    run = sub.add_parser("run", help="migrate: gates, load, validation, report")
    gate_options(run)
    run.add_argument("--create-indexes", action="store_true",
                     help="create the index step 4.2 needs on doctors(legacy_user_id) if missing "
                          "(CREATE INDEX CONCURRENTLY); otherwise it is only recommended")
    gate_options(sub.add_parser("plan", help="dry run: what `run` would do; writes nothing"))
    rollback = sub.add_parser("rollback", help="undo one run exactly (by its run id)")
    which = rollback.add_mutually_exclusive_group(required=True)
    which.add_argument("run_id", nargs="?", type=run_id("or --last for the newest run"),
                       help="the run id that `run` printed")
    which.add_argument("--last", action="store_true",
                       help="the newest run that changed doctors and is not rolled back (a run "
                            "that changed nothing has nothing to undo)")
    lock_option(rollback)
    check = sub.add_parser("check", help="the checks of loaded_doctors on the target as it is now, "
                                         "against the newest applied run; writes nothing")
    lock_option(check)
    history = sub.add_parser("history", help="the runs in the target's ledger, newest first")
    history.add_argument("--limit", type=positive_int, default=20, metavar="N")
    lock_option(history)
    report = sub.add_parser("report", help="print a run's report from DAGSTER_HOME")
    report.add_argument("run_id", nargs="?", type=run_id("or none for the newest run"),
                        help="a run id (default: the newest run against SUPABASE_DATABASE_URL)")
    report.add_argument("--json", action="store_true", help="JSON instead of Markdown")
    explain = sub.add_parser("explain", help="why was (or wasn't) a legacy user migrated")
    explain.add_argument("user_id", type=user_id, help="auth_user.id in the source")
    explain.add_argument("--show-pii", action="store_true",
                         help="also print the user's name and e-mail")
    lock_option(explain)
    demo = sub.add_parser(
        "demo", help="run the migration on a generated world in embedded PostgreSQL")
    demo.add_argument("--doctors", type=positive_int, default=names.EXPECTED_COUNT, metavar="N",
                      help="clean doctors in the generated world (default: %(default)s)")
    demo.add_argument("--ui", action="store_true",
                      help="after the run, serve the Dagster UI on it until Ctrl-C")
    demo.add_argument("--port", type=positive_int, default=3000,
                      help="port of the UI on 127.0.0.1 (default: 3000)")
    for command in sub.choices.values():
        command.epilog, command.formatter_class = EXIT_CODES, argparse.RawDescriptionHelpFormatter
    return parser


def _require_urls() -> str | None:
    missing = [v for v in ("SOURCE_DATABASE_URL", "SUPABASE_DATABASE_URL") if not os.environ.get(v)]
    if missing:
        return (f"set {' and '.join(missing)} "
                "(libpq URLs of the legacy source and the Supabase target)")
    return None


def _migrate(args: argparse.Namespace, dry_run: bool) -> int:
    from doctor_migration.defs.jobs import DRY_RUN_JOB, MIGRATE_JOB
    from doctor_migration.runner import instance, migrate

    problem = _require_urls()
    if problem:
        print(f"doctor-migration: error: {problem}", file=sys.stderr)
        return names.EXIT_BAD_INPUT
    instance()  # a DAGSTER_HOME it cannot use is bad input, before the run is announced
    job = DRY_RUN_JOB if dry_run else MIGRATE_JOB
    run_id = str(uuid.uuid4())
    print(f"Dagster run {run_id} ({job})", flush=True)
    outcome = migrate(args.expected_count, dry_run=dry_run, lock_timeout=args.lock_timeout,
                      create_indexes=getattr(args, "create_indexes", False),
                      max_deletes=getattr(args, "max_deletes", None), run_id=run_id)
    if outcome.report:
        print()
        print(outcome.report)
    if outcome.exit_code:
        print(f"\nThe {'plan' if dry_run else 'run'} {run_id} did not complete; "
              f"{outcome.written}")
        for line in outcome.failures:
            print(line)
    else:
        print(f"{'Plan' if dry_run else 'Run'} {run_id} succeeded.")
    return outcome.exit_code


def _target_url() -> str | None:
    url = os.environ.get("SUPABASE_DATABASE_URL")
    if not url:
        print("doctor-migration: error: set SUPABASE_DATABASE_URL (libpq URL of the target)",
              file=sys.stderr)
    return url


def _history(args: argparse.Namespace) -> int:
    from doctor_migration.migration import db, ledger

    url = _target_url()
    if not url:
        return names.EXIT_BAD_INPUT
    with db.connect(url, "target") as conn:
        runs = ledger.history(conn, args.limit, args.lock_timeout)
    if not runs:
        print("No migration run has committed on this target yet.")
        return 0
    header = ["run id", "started (UTC)", "by", "version", "expected", "ins", "upd", "del",
              "same", "state"]
    rows = [[r.run_id, f"{r.started_at:%Y-%m-%d %H:%M:%S}", f"{r.db_user}/{r.os_user}",
             r.tool_version or "", r.expected_count or "", r.inserted, r.updated, r.deleted,
             r.unchanged, r.state] for r in runs]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
    return 0


def _check(args: argparse.Namespace) -> int:
    from doctor_migration.defs.jobs import CHECK_JOB
    from doctor_migration.runner import check, instance

    if not _target_url():
        return names.EXIT_BAD_INPUT
    instance()  # a DAGSTER_HOME it cannot use is bad input, before the run is announced
    run_id = str(uuid.uuid4())
    print(f"Dagster run {run_id} ({CHECK_JOB}): the checks of loaded_doctors on the target as "
          "it is now, against the newest applied run; writes nothing", flush=True)
    outcome = check(args.lock_timeout, run_id=run_id)
    print(outcome.report)
    if not outcome.success:
        print(f"\nThe checks did not complete (run {run_id}):")
        for line in outcome.failures:
            print(line)
    return outcome.exit_code


def _rolled_back(outcome) -> dict | None:
    """The metadata of the rollback's materialization of loaded_doctors; None when the run
    had nothing to undo."""
    done = outcome.result.asset_materializations_for_node("rollback_run")
    return {k: v.value for k, v in done[0].metadata.items()} if done else None


def _rollback(args: argparse.Namespace) -> int:
    from doctor_migration.migration import db, ledger
    from doctor_migration.runner import instance, roll_back

    url = _target_url()
    if not url:
        return names.EXIT_BAD_INPUT
    instance()
    run_id = args.run_id
    if args.last:
        with db.connect(url, "target") as conn:
            last = ledger.last_run(conn, args.lock_timeout)
        run_id = last.run_id
        print(f"Rolling back {last.described}", flush=True)
    else:
        print(f"Rolling back run {run_id}", flush=True)
    outcome = roll_back(run_id, lock_timeout=args.lock_timeout)
    if outcome.exit_code:
        print(f"\nRun {run_id} was not rolled back:")
        for line in outcome.failures:
            print(line)
        return outcome.exit_code
    done = _rolled_back(outcome)
    if done is None:
        print(f"{ledger.nothing_to_undo(run_id)} (Dagster run {outcome.run_id}).")
    else:
        caveats = f", {done['not_restored']}" if done["not_restored"] else ""
        print(f"Run {run_id} rolled back: the doctors it touched are as they were before it"
              f"{caveats} (Dagster run {outcome.run_id}).")
    return outcome.exit_code


def _report(args: argparse.Namespace) -> int:
    import json

    from doctor_migration.migration.db import location
    from doctor_migration.migration.report import render_markdown
    from doctor_migration.runner import stored_report

    if not args.run_id:  # the newest run against the current target
        url = _target_url()
        if not url:
            return names.EXIT_BAD_INPUT
    report = stored_report(args.run_id)
    if report is None:
        which = f"run {args.run_id}" if args.run_id else f"any run against {location(url)}"
        others = "" if args.run_id else "; a run against another target: give its id"
        print(f"doctor-migration: error: no report of {which} in DAGSTER_HOME "
              f"({os.environ.get('DAGSTER_HOME', './.dagster_home')}){others}", file=sys.stderr)
        return names.EXIT_STOPPED
    print(json.dumps(report, indent=2, default=str) if args.json else render_markdown(report))
    return 0


def _explain(args: argparse.Namespace) -> int:
    from functools import partial

    from doctor_migration.migration import db
    from doctor_migration.migration.explain import explain_user

    source_url = os.environ.get("SOURCE_DATABASE_URL")
    target_url = os.environ.get("SUPABASE_DATABASE_URL")
    if not (source_url or target_url):
        print("doctor-migration: error: set SUPABASE_DATABASE_URL (or SOURCE_DATABASE_URL)",
              file=sys.stderr)
        return names.EXIT_BAD_INPUT
    source = partial(db.connect, source_url, "source") if source_url else None
    if target_url:
        with db.connect(target_url, "target") as target:
            lines = explain_user(source, target, args.user_id, args.show_pii, args.lock_timeout)
    else:
        lines = explain_user(source, None, args.user_id, args.show_pii, args.lock_timeout)
    print("\n".join(lines))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from doctor_migration.demo.run import demo_environment
    from doctor_migration.demo.ui import serve_ui, write_instance_config

    from doctor_migration.runner import dagster_home

    home = dagster_home()
    try:
        write_instance_config(home)
    except OSError:
        pass  # the run's instance() says what is wrong with DAGSTER_HOME
    with demo_environment(args.doctors) as env:
        os.environ.update(env)
        print(f"Demo world: {args.doctors} clean doctors among traps, in embedded PostgreSQL.")
        code = _migrate(argparse.Namespace(expected_count=args.doctors,
                                           lock_timeout=names.LOCK_TIMEOUT), dry_run=False)
        if not args.ui:
            return code
        # Local connections to the embedded servers are trusted: these URLs hold no password.
        print(f"\nLegacy source (SELECT-only role):  psql '{env['SOURCE_DATABASE_URL']}'")
        print(f"Supabase target (role postgres):   psql '{env['SUPABASE_DATABASE_URL']}'")
        # The databases live only inside this block: serve until Ctrl-C, then stop them.
        return serve_ui(home, env, host="127.0.0.1", port=args.port)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from doctor_migration.migration.errors import MigrationError

    try:
        if args.command == "demo":
            return _demo(args)
        if args.command == "history":
            return _history(args)
        if args.command == "check":
            return _check(args)
        if args.command == "rollback":
            return _rollback(args)
        if args.command == "report":
            return _report(args)
        if args.command == "explain":
            return _explain(args)
        return _migrate(args, dry_run=args.command == "plan")
    except MigrationError as exc:
        from doctor_migration.migration.errors import DatabaseBusy, StopMigration
        from doctor_migration.migration.ledger import RollbackRefused

        print(f"doctor-migration: error: {exc}", file=sys.stderr)
        if isinstance(exc, DatabaseBusy):
            return names.EXIT_BUSY
        if isinstance(exc, (RollbackRefused, StopMigration)):
            return names.EXIT_STOPPED
        return names.EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted: the target's transaction was rolled back", file=sys.stderr)
        return names.EXIT_INTERRUPTED


def entry() -> None:
    """The console script: main, then exit at once. Everything the command opened is closed
    by then (databases, Dagster's storage); tearing down the interpreter's modules one by one
    only costs the operator half a second."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
