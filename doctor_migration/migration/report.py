"""The run's outcome: a document an operator hands to the practice (Markdown) and the same
facts for machines (a JSON-ready dict). Legacy ids only: no names, no e-mails."""

from __future__ import annotations

from doctor_migration.migration.load import LoadResult
from doctor_migration.migration.timings import INDEX_ADVICE

SUCCEEDED, STOPPED = "succeeded", "stopped"
# The report's counts, as its table labels them.
COUNTS = {
    "clean_doctors": "clean doctors in the source",
    "inserted": "inserted",
    "updated": "updated in place",
    "unchanged": "unchanged (not written)",
    "deleted": "deleted (no longer clean)",
}


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def build_report(result: LoadResult, *, accounting: list[list[object]] | None = None,
                 checks: list[dict] | None = None, timings: list[dict] | None = None,
                 legacy_id_index: str | None = None) -> dict:
    """Everything the report says, as plain data.

    `checks` are {"check", "asset", "passed", "severity", "summary"} for every check of the
    run; `timings` are step 4's measurements.
    """
    return {
        "run_id": result.run_id,
        "dry_run": result.dry_run,
        "counts": {
            "clean_doctors": result.clean_count,
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "deleted": result.deleted,
        },
        "changed_columns": result.changed_columns,
        "delete_limit": result.delete_limit,
        "source_snapshot": result.source_snapshot,
        "sequences_advanced": result.sequences_advanced,
        "accounting": [{"outcome": o, "users": n} for o, n in accounting or []],
        "checks": checks or [],
        "timings": timings or [],
        "legacy_id_index": legacy_id_index,
        "ledger": None if result.dry_run else {
            "schema": "doctor_migration", "run_id": result.run_id,
            "rollback": f"doctor-migration rollback {result.run_id}",
            "rollback_job": "rollback_doctor_migration",
        },
        "rollback_cannot_restore": result.rollback_cannot_restore,
        "load_seconds": round(result.seconds, 3),
        "all_checks_passed": all(c["passed"] for c in checks or []),
        # validation_report, the last step, materializes only after every blocking check passed.
        "outcome": SUCCEEDED,
        "stops": [],
    }


def build_stopped_report(run_id: str, *, dry_run: bool, stops: list[dict], outcome: str = STOPPED,
                         counts: dict | None = None, accounting: list[list[object]] | None = None,
                         checks: list[dict] | None = None, timings: list[dict] | None = None,
                         legacy_id_index: str | None = None, load_seconds: float | None = None,
                         load_committed: bool = False) -> dict:
    """The report of a run or plan that did not reach validation_report: what it did compute
    (counts None where it did not get that far), every check it evaluated, and where it
    stopped: `stops` are {"step", "reason"}."""
    return {
        "run_id": run_id,
        "dry_run": dry_run,
        "counts": {name: (counts or {}).get(name) for name in COUNTS},
        "changed_columns": [],
        "sequences_advanced": [],
        "accounting": [{"outcome": o, "users": n} for o, n in accounting or []],
        "checks": checks or [],
        "timings": timings or [],
        "legacy_id_index": legacy_id_index,
        "ledger": {"schema": "doctor_migration", "run_id": run_id,
                   "rollback": f"doctor-migration rollback {run_id}"} if load_committed else None,
        "rollback_cannot_restore": [],
        "load_seconds": load_seconds,
        "all_checks_passed": False,
        "outcome": outcome,
        "stops": stops,
    }


def _outcome(report: dict) -> str:
    """One line: succeeded, or where and why it stopped."""
    kind = "plan" if report["dry_run"] else "run"
    outcome = report.get("outcome", SUCCEEDED)
    if outcome == SUCCEEDED:
        return f"**The {kind} succeeded.**"
    if outcome == STOPPED:
        reasons = "; ".join(f"stopped at {s['step']}: {s['reason']}" for s in report["stops"])
        return f"**The {kind} did not complete: {reasons or 'stopped'}.**"
    return f"**The {kind} has not finished: {outcome}.**"


def _check_detail(check: dict) -> str:
    detail = check["summary"]
    if not check["passed"] and check.get("offenders"):
        detail += f"; offending legacy user ids: {check['offenders']}"
    return detail


def render_markdown(report: dict) -> str:
    """The report as Markdown."""
    kind = "plan" if report["dry_run"] else "run"
    parts = [f"# Doctor migration {kind} `{report['run_id']}`", _outcome(report)]
    if "target" in report:  # the report of a run the command line launched or reads back
        parts.insert(1, f"Target: `{report['target'] or 'not recorded'}`")
    stopped = report.get("outcome", SUCCEEDED) != SUCCEEDED
    if report["dry_run"] and stopped:
        parts.append("**Dry run: nothing was written,** apart from any sequence values its "
                     "rolled-back inserts took." if report["counts"].get("inserted")
                     else "**Dry run: nothing was written.**")
    elif report["dry_run"]:
        # nextval is not transactional: say what the rollback could not give back.
        taken = ", ".join(f"{s['values']} from {s['sequence']}"
                          for s in report.get("sequences_advanced") or [])
        parts.append(("**Dry run: nothing was written,** except that the rolled-back inserts "
                      f"took values from sequences, which no rollback returns: {taken}."
                      if taken else "**Dry run: nothing was written.**")
                     + " The counts are what a run would do now.")
    counts = report["counts"]
    rows = [[label, counts[name]] for name, label in COUNTS.items()
            if counts.get(name) is not None]
    if rows:
        parts.append(markdown_table(["outcome", "doctors"], rows))
    if report.get("delete_limit") is not None and counts.get("deleted") is not None:
        parts.append(f"Deletes allowed: at most {report['delete_limit']} (`--max-deletes`).")
    snapshot = report.get("source_snapshot")
    if snapshot:
        parts.append(f"**Re-execution:** migrated the source as run `{snapshot['read_by']}` read "
                     f"it at {snapshot['taken_at']}, {snapshot['age_minutes']} min before this "
                     "load; changes to the source since then are not in it.")
    if report["changed_columns"]:
        parts.append("## Columns changed by updates")
        parts.append(markdown_table(["column", "doctors", "example legacy ids"], [
            [c["column"], c["doctors"], ", ".join(map(str, c["examples"]))]
            for c in report["changed_columns"]
        ]))
    if report["accounting"]:
        parts.append("## Every source user accounted for")
        parts.append(markdown_table(["outcome", "users"],
                                    [[a["outcome"], a["users"]] for a in report["accounting"]]))
    if report["checks"]:
        parts.append("## Checks")
        parts.append(markdown_table(["asset", "check", "result", "detail"], [
            [c["asset"], c["check"],
             "passed" if c["passed"] else ("warning" if c["severity"] == "WARN" else "**FAILED**"),
             _check_detail(c)]
            for c in report["checks"]
        ]))
        for c in report["checks"]:
            if not c["passed"] and c.get("offending_users"):
                parts.append(f"### Offenders of {c['check']}\n\n{c['offending_users']}")
    if report["timings"]:
        parts.append("## Plan step 4 timings")
        parts.append(markdown_table(
            ["step", "query", "planning ms", "execution ms", "threshold ms", "query plan nodes"], [
                [t["step"], t["name"], f"{t['planning_ms']:.2f}", f"{t['execution_ms']:.2f}",
                 t["threshold_ms"], ", ".join(t["node_types"])]
                for t in report["timings"]
            ]))
        lookup = next((t for t in report["timings"] if t["step"] == "4.2"), None)
        if lookup and "Seq Scan" in lookup["node_types"] and not report["legacy_id_index"]:
            parts.append("The legacy id lookup scans the whole table. Recommended (the tool "
                         "changes the schema only with `--create-indexes`):\n\n"
                         f"    {INDEX_ADVICE}")
        elif report["legacy_id_index"]:
            parts.append(f"Legacy id lookups use the index `{report['legacy_id_index']}`.")
    if report["ledger"]:
        parts.append("## Ledger")
        parts.append(
            f"Recorded in `doctor_migration.runs` as `{report['run_id']}`, with every updated or "
            "deleted row's state before (an updated row's after too) and a digest of every "
            "inserted row in `doctor_migration.row_changes`. Undo exactly with "
            f"`{report['ledger']['rollback']}`, or in the Dagster UI by launching the job "
            f"`{report['ledger'].get('rollback_job', 'rollback_doctor_migration')}` with "
            f"`run_id: {report['run_id']}` (left empty, it undoes the newest run that changed "
            "doctors and is not rolled back yet)."
        )
    if report.get("rollback_cannot_restore"):
        parts.append("A rollback of this run cannot restore the columns the target's own "
                     "triggers rewrite when a row is written: "
                     + ", ".join(report["rollback_cannot_restore"]) + ".")
    if report.get("load_seconds") is not None:
        parts.append(f"Load transaction: {report['load_seconds']:.2f} s.")
    return "\n\n".join(parts) + "\n"
