"""Every source user accounted for: migrated, or the first step 1.1 rule that excluded it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import psycopg

from doctor_migration.migration.db import load_sql
from doctor_migration.migration.gates import GateResult

# Step 1.1's test/demo/internal-account patterns, bound into select_user_outcomes.sql.
PATTERNS = {
    "test": "%test%",
    "demo": "%demo%",
    "internal_1": "%brius.com",
    "internal_2": "%mechanodontics.com",
}
REASONS = ["inactive", "no settings and no office", "no active patients",
           "test/demo/internal account", "duplicate by e-mail", "duplicate by name"]


def fetch_user_outcomes(source: psycopg.Connection, user_id: int | None = None) -> pd.DataFrame:
    """One row per auth_user (or just `user_id`) with its outcome and the facts behind it."""
    cur = source.execute(load_sql("select_user_outcomes"), {**PATTERNS, "user_id": user_id})
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description], dtype=object)


@dataclass(frozen=True)
class Accounting:
    """The totals of the source's users by outcome, and whether they add up."""

    source_users: int
    by_outcome: dict[str, int]
    not_in_plan: list[int]
    missing_from_accounting: list[int]

    @property
    def migrated(self) -> int:
        return self.by_outcome.get("migrated", 0)

    @property
    def adds_up(self) -> bool:
        return (sum(self.by_outcome.values()) == self.source_users
                and not self.not_in_plan and not self.missing_from_accounting)

    def rows(self) -> list[list[object]]:
        """[outcome, users] for every outcome, migrated first, then the total."""
        return ([["migrated", self.migrated]]
                + [[r, self.by_outcome.get(r, 0)] for r in REASONS]
                + [["source users", self.source_users]])


def account(outcomes: pd.DataFrame, clean: pd.DataFrame) -> Accounting:
    """Totals by outcome, held against the plan's own result (`clean`)."""
    migrated = set(int(u) for u in outcomes.loc[outcomes["outcome"] == "migrated", "user_id"])
    planned = set(int(u) for u in clean["user_id"])
    return Accounting(
        source_users=len(outcomes),
        by_outcome={str(k): int(v) for k, v in outcomes["outcome"].value_counts().items()},
        not_in_plan=sorted(migrated - planned),
        missing_from_accounting=sorted(planned - migrated),
    )


def every_source_user_accounted_for(accounting: Accounting) -> GateResult:
    """Each source user has exactly one outcome, the totals add up, and the migrated set is
    exactly the plan's result."""
    offenders = {uid: "migrated by the accounting, not by the plan's SQL"
                 for uid in accounting.not_in_plan}
    offenders.update({uid: "selected by the plan's SQL, not by the accounting"
                      for uid in accounting.missing_from_accounting})
    excluded = accounting.source_users - accounting.migrated
    return GateResult(
        name="every_source_user_accounted_for",
        passed=accounting.adds_up,
        summary=(f"{accounting.source_users} source users = {accounting.migrated} migrated + "
                 f"{excluded} excluded with a reason"
                 + ("" if accounting.adds_up else f"; {len(offenders)} disagree with the plan")),
        total=accounting.source_users,
        offenders=offenders,
    )
