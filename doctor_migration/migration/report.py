"""The run's outcome as Markdown: what an operator hands to the practice."""

from __future__ import annotations

from doctor_migration.migration.load import LoadResult
from doctor_migration.migration.validation import ValidationResult


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_report(result: LoadResult, validation: list[ValidationResult]) -> str:
    """Counts, changed columns, steps 3.1-3.4 and the ledger reference, in Markdown."""
    title = f"# Doctor migration {'plan' if result.dry_run else 'run'} `{result.run_id}`"
    parts = [title]
    if result.dry_run:
        parts.append("**Dry run: nothing was written.** The counts are what a run would do now.")
    parts.append(markdown_table(["outcome", "doctors"], [
        ["clean doctors in the source", result.clean_count],
        ["inserted", result.inserted],
        ["updated in place", result.updated],
        ["unchanged (not written)", result.unchanged],
        ["deleted (no longer clean)", result.deleted],
    ]))
    if result.changed_columns:
        parts.append("## Columns changed by updates")
        parts.append(markdown_table(["column", "doctors", "example legacy ids"], [
            [c["column"], c["doctors"], ", ".join(map(str, c["examples"]))]
            for c in result.changed_columns
        ]))
    parts.append("## Validation (plan steps 3.1-3.4)")
    parts.append(markdown_table(["step", "check", "result", "detail"], [
        [v.step, v.name, "passed" if v.passed else "**FAILED**", v.summary] for v in validation
    ]))
    if not result.dry_run:
        parts.append("## Ledger")
        parts.append(
            f"Recorded in `doctor_migration.runs` as `{result.run_id}`, with every written row's "
            f"state before and after in `doctor_migration.row_changes`. Undo exactly with "
            f"`doctor-migration rollback {result.run_id}`."
        )
    parts.append(f"Load transaction: {result.seconds:.2f} s.")
    return "\n\n".join(parts) + "\n"
