"""`doctor-migration explain USER_ID`: why was (or wasn't) this user migrated, and into which
doctors row. Names and e-mails only with show_pii."""

from __future__ import annotations

import psycopg

from doctor_migration.migration import locks
from doctor_migration.migration.accounting import fetch_user_outcomes
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError
from doctor_migration.migration.selection import SOURCE_READ
from doctor_migration.migration.target import LEDGER_READ

TARGET_READ = {"public.doctors": "AccessShareLock", **LEDGER_READ}

RULES = {
    "inactive": "auth_user.is_active is false",
    "no settings and no office": "no dispatch_usersetting row and no office assignment",
    "no active patients": "no patient with archived false or NULL",
    "test/demo/internal account": "e-mail or name matches step 1.1's test/demo/internal rule",
}


def _yes(flag: object) -> str:
    return "yes" if flag else "no"


def explain_user(source: psycopg.Connection, target: psycopg.Connection | None, user_id: int,
                 show_pii: bool = False, lock_timeout: str = "30s") -> list[str]:
    """Lines that explain one legacy user's outcome (step 1.1) and its doctors row."""
    source.read_only = True
    with locks.bounded_transaction(source, "source", SOURCE_READ, lock_timeout):
        source.execute(load_sql("set_source_time_zone"))
        outcomes = fetch_user_outcomes(source, user_id)
        identity = (source.execute(load_sql("select_user_identity"), {"user_id": user_id})
                    .fetchone() if show_pii else None)
    if outcomes.empty:
        raise MigrationError(f"the source has no auth_user with id {user_id}")
    u = outcomes.iloc[0]
    outcome = u["outcome"]
    lines = []
    if outcome == "migrated":
        lines.append(f"legacy user {user_id}: migrated (a clean doctor of step 1.1, "
                     f"de-duplicated by {u['dedup_by']})")
    elif outcome.startswith("duplicate"):
        lines.append(f"legacy user {user_id}: not migrated: {outcome} of user "
                     f"{u['duplicate_of']}, which step 1.1 kept (more active patients, then the "
                     f"later login, then the lower id)")
    else:
        lines.append(f"legacy user {user_id}: not migrated: {outcome} ({RULES[outcome]})")
    lines.append(f"  active: {_yes(u['is_active'])}; settings: {_yes(u['has_settings'])}; "
                 f"office: {_yes(u['has_office_assignment'])}; active patients: "
                 f"{u['patient_count']}; archived patients: {u['archived_patient_count']}; "
                 f"last login: {u['last_login'] or 'never'}")
    if identity:
        lines.append(f"  name: {identity[0]} {identity[1]}; e-mail: {identity[2]!r}")
    if target is not None:
        with locks.bounded_transaction(target, "target", TARGET_READ, lock_timeout):
            rows = target.execute(load_sql("select_doctor_of_legacy_user"),
                                  {"user_id": user_id}).fetchall()
            ledger = []
            if target.execute(load_sql("select_ledger_exists")).fetchone()[0]:
                ledger = target.execute(load_sql("select_ledger_entries_of_legacy_user"),
                                        {"user_id": user_id}).fetchall()
        for doctor_id, number, profile_id, created, updated in rows:
            lines.append(f"  doctors row {doctor_id} ({number}, profile {profile_id}), "
                         f"created {created:%Y-%m-%d %H:%M:%S %Z}, "
                         f"updated {updated:%Y-%m-%d %H:%M:%S %Z}")
        if not rows:
            lines.append("  no doctors row in the target")
        for run_id, action, started, rolled_back in ledger:
            lines.append(f"  run {run_id} ({started:%Y-%m-%d %H:%M:%S %Z}) {action}ed it"
                         + (" (rolled back)" if rolled_back else ""))
    return lines
