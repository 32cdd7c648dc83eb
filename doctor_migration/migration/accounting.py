"""Every source user accounted for: migrated, or the first step 1.1 rule that excluded it.

The outcomes are read in the same snapshot as step 1.1 and land in the stage beside it
(stage.stage_source); the totals and the comparison with the plan's result are SQL there."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from doctor_migration import names
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.gates import WHITESPACE, GateResult


def fetch_user_outcomes(source: psycopg.Connection, user_id: int) -> dict | None:
    """One auth_user's outcome and the facts behind it, read from the source as it is now
    (explain, before any command staged the source); None when there is no such user."""
    cur = source.execute(load_sql("select_user_outcomes"),
                         {**names.OUTCOME_PARAMETERS, "user_id": user_id})
    row = cur.fetchone()
    return dict(zip([d.name for d in cur.description], row)) if row else None


@dataclass(frozen=True)
class Accounting:
    """The totals of the source's users by outcome, and whether they add up."""

    source_users: int
    by_outcome: dict[str, int]
    not_in_plan: list[int]
    missing_from_accounting: list[int]

    @property
    def migrated(self) -> int:
        return self.by_outcome.get(names.MIGRATED, 0)

    @property
    def adds_up(self) -> bool:
        return (sum(self.by_outcome.values()) == self.source_users
                and not self.not_in_plan and not self.missing_from_accounting)

    def rows(self) -> list[list[object]]:
        """[outcome, users] for every outcome, migrated first, then the total."""
        return ([[names.MIGRATED, self.migrated]]
                + [[r, self.by_outcome.get(r, 0)] for r in names.EXCLUSION_REASONS.values()]
                + [["source users", self.source_users]])


def tally(conn: psycopg.Connection, stage_id: str) -> Accounting:
    """Totals by outcome of the command's stage (source_users), held against the plan's own
    result (its clean_doctors), in SQL on the target."""
    params = {"run_id": stage_id, "migrated": names.MIGRATED}
    by_outcome = {str(k): int(v) for k, v in
                  conn.execute(load_sql("select_accounting_tally"), params).fetchall()}
    sides: dict[str, list[int]] = {"not_in_plan": [], "not_accounted": []}
    for uid, side in conn.execute(load_sql("select_accounting_disagreements"), params):
        sides[side].append(int(uid))
    return Accounting(
        source_users=sum(by_outcome.values()),
        by_outcome=by_outcome,
        not_in_plan=sides["not_in_plan"],
        missing_from_accounting=sides["not_accounted"],
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
        name=names.EVERY_SOURCE_USER_ACCOUNTED_FOR,
        passed=accounting.adds_up,
        summary=(f"{accounting.source_users} source users = {accounting.migrated} migrated + "
                 f"{excluded} excluded with a reason"
                 + ("" if accounting.adds_up else f"; {len(offenders)} disagree with the plan")),
        total=accounting.source_users,
        offenders=offenders,
    )


def blank_email_merges(conn: psycopg.Connection, stage_id: str) -> dict[int, list[int]]:
    """The users step 1.1 merged under a blank e-mail key, from the command's stage: for each
    user kept, the users dropped as its duplicates "by e-mail" (select_blank_email_merges.sql)."""
    merges: dict[int, list[int]] = {}
    for kept, dropped in conn.execute(load_sql("select_blank_email_merges"),
                                      {"run_id": stage_id, "whitespace": WHITESPACE,
                                       "duplicate_by_email":
                                           names.EXCLUSION_REASONS["duplicate_by_email"]}):
        merges.setdefault(int(kept), []).append(int(dropped))
    return merges


def no_users_merged_under_a_blank_email(merges: dict[int, list[int]]) -> GateResult:
    """Users whose e-mails are only whitespace share step 1.1's de-duplication key, so the
    plan's SQL keeps one of them and drops the others as duplicates by e-mail. The plan's SQL
    is shipped as written: this is a warning that names them, never a stop."""
    offenders: dict[int, str] = {}
    for kept, dropped in merges.items():
        offenders[kept] = ("kept; merged with " + ", ".join(map(str, dropped))
                           + " because their e-mails are blank")
        offenders.update({uid: f"dropped as a duplicate by e-mail of {kept}: merged because "
                               "both e-mails are blank" for uid in dropped})
    groups = "; ".join(f"kept {kept}, dropped {', '.join(map(str, dropped))}"
                       for kept, dropped in merges.items())
    return GateResult(
        name=names.NO_USERS_MERGED_UNDER_A_BLANK_EMAIL,
        passed=not merges,
        summary=(f"{len(offenders)} users merged under a blank e-mail by step 1.1's "
                 "de-duplication" + (f": {groups}" if groups else "")),
        total=len(offenders),
        offenders=offenders,
        stops_run=False,
    )
