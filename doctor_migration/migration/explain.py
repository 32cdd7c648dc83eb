"""`doctor-migration explain USER_ID`: why was (or wasn't) this user migrated, and into which
doctors row. Names and e-mails only with show_pii.

The outcome comes from the target, where the newest run (or plan) left every source user's
outcome in its stage (doctor_migration.source_users): the reason that command acted on. Before
any command has staged the source, it is read from the source as it is now. From the same
stage come the users merged under a blank e-mail and the gates of step 1.3 that a clean doctor
stops a run at.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

import psycopg

from doctor_migration.migration import locks, stage
from doctor_migration.migration.accounting import blank_email_merges, fetch_user_outcomes
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError
from doctor_migration.migration.gates import WHITESPACE, evaluate_gates
from doctor_migration.migration.ledger import DONE
from doctor_migration.migration.target import LEDGER_READ
from doctor_migration import names
from doctor_migration.names import LOCK_TIMEOUT


def _utc(moment: datetime) -> str:
    """A time as explain prints every time: UTC, ISO 8601, whatever the server's TimeZone
    (isoformat: strftime's %Y drops the zeros of a year before 1000)."""
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"

TARGET_READ = {"public.doctors": "AccessShareLock", **LEDGER_READ}
OUTCOME_COLUMNS = ["user_id", "outcome", "duplicate_of", "dedup_by", "is_active", "has_settings",
                   "has_office_assignment", "patient_count", "archived_patient_count",
                   "last_login"]

REASONS = names.EXCLUSION_REASONS
RULES = {
    REASONS["inactive"]: "auth_user.is_active is false",
    REASONS["no_settings_or_office"]: "no dispatch_usersetting row and no office assignment",
    REASONS["no_active_patients"]: "no patient with archived false or NULL",
    REASONS["test_account"]: "e-mail or name matches step 1.1's test/demo/internal rule",
}
# The gates of step 1.3 that can stop a run because of one clean doctor, and their rule.
GATE_RULES = {
    names.EVERY_CLEAN_DOCTOR_HAS_ONE_PROFILE:
        "step 1.3: exactly one doctor profile per clean doctor",
    names.PROFILES_MATCH_SOURCE: "step 1.3: the profile's names and e-mail equal the source's",
    names.NO_PROFILE_HAS_ANOTHER_DOCTOR: "step 1.3: one doctors row per doctor profile",
    names.NO_CLEAN_DOCTOR_FAILS_STEP_3_3: "step 3.3's test, demo and internal e-mail rules",
}
BLANK = "merged because both e-mails are blank"


def _yes(flag: object) -> str:
    return "yes" if flag else "no"


def _staged_outcome(target: psycopg.Connection,
                    user_id: int) -> tuple[dict | None, str, str] | None:
    """(the user's outcome or None, which command's snapshot, its stage id) from the newest
    stage; None when no command has staged the source yet."""
    tables = [stage.REGISTRY, "source_users"]
    found = {r[0] for r in target.execute(load_sql("select_stage_tables"), {"tables": tables})}
    if found != set(tables):
        return None
    row = target.execute(load_sql("select_stage_outcome"), {"user_id": user_id}).fetchone()
    if row is None:
        return None
    run_id, command, started, *values = row
    snapshot = f"{command} {run_id} read the source at {_utc(started)}"
    outcome = dict(zip(OUTCOME_COLUMNS, values))
    return (outcome if outcome["user_id"] is not None else None), snapshot, run_id


def _stops(target: psycopg.Connection, stage_id: str, user_id: int) -> list[tuple[str, str]]:
    """(gate, problem) for each gate of step 1.3 that stops a run because of this clean
    doctor, over the same stage as its outcome (the count gate names nobody: any count)."""
    return [(gate.name, gate.offenders[user_id])
            for gate in evaluate_gates(target, stage_id, expected=0) if user_id in gate.offenders]


def _source_outcome(source: psycopg.Connection, user_id: int,
                    lock_timeout: str) -> dict | None:
    with locks.bounded_transaction(source, "source", stage.SOURCE_READ, lock_timeout):
        source.execute(load_sql("set_source_time_zone"))
        outcome = fetch_user_outcomes(source, user_id)
        if outcome is not None and outcome["outcome"] == REASONS["duplicate_by_email"]:
            outcome["blank_email"] = source.execute(
                load_sql("select_user_email_is_blank"),
                {"user_id": user_id, "whitespace": WHITESPACE}).fetchone()[0]
        return outcome


def _identity(source: psycopg.Connection, user_id: int, lock_timeout: str) -> tuple | None:
    with locks.bounded_transaction(source, "source", stage.SOURCE_READ, lock_timeout):
        return source.execute(load_sql("select_user_identity"), {"user_id": user_id}).fetchone()


def _read_source(source: Callable[[], AbstractContextManager[psycopg.Connection]] | None,
                 why: str, read: Callable[[psycopg.Connection], object]):
    if source is None:
        raise MigrationError(f"{why}: set SOURCE_DATABASE_URL")
    with source() as conn:
        conn.read_only = True
        return read(conn)


def explain_user(source: Callable[[], AbstractContextManager[psycopg.Connection]] | None,
                 target: psycopg.Connection | None, user_id: int, show_pii: bool = False,
                 lock_timeout: str = LOCK_TIMEOUT) -> list[str]:
    """Lines that explain one legacy user's outcome (step 1.1) and its doctors row. `source`
    connects to the source, which is read only for show_pii, and when the target has no staged
    outcomes yet."""
    staged, rows, ledger, merges, stops = None, [], [], {}, []
    if target is not None:
        with locks.bounded_transaction(target, "target", TARGET_READ, lock_timeout):
            staged = _staged_outcome(target, user_id)
            if staged is not None and staged[0] is not None:
                merges = blank_email_merges(target, staged[2])
                if staged[0]["outcome"] == names.MIGRATED:
                    stops = _stops(target, staged[2], user_id)
            rows = target.execute(load_sql("select_doctor_of_legacy_user"),
                                  {"user_id": user_id}).fetchall()
            if target.execute(load_sql("select_ledger_exists")).fetchone()[0]:
                ledger = target.execute(load_sql("select_ledger_entries_of_legacy_user"),
                                        {"user_id": user_id}).fetchall()
    if staged is not None:
        u, snapshot, _ = staged
        if u is None:
            raise MigrationError(f"the source had no auth_user with id {user_id} when {snapshot}")
    else:
        u = _read_source(source, "no command has staged the source on the target yet",
                         lambda conn: _source_outcome(conn, user_id, lock_timeout))
        if u is None:
            raise MigrationError(f"the source has no auth_user with id {user_id}")
        snapshot = "the source as it is now (no command has staged it yet)"
    outcome = u["outcome"]
    blank = u.get("blank_email") or user_id in merges.get(u["duplicate_of"], [])
    lines = []
    if outcome == names.MIGRATED and stops:
        lines.append(f"legacy user {user_id}: a clean doctor of step 1.1 (de-duplicated by "
                     f"{u['dedup_by']}), but a run stops before any write because of it")
    elif outcome == names.MIGRATED:
        lines.append(f"legacy user {user_id}: migrated (a clean doctor of step 1.1, "
                     f"de-duplicated by {u['dedup_by']})")
    elif outcome == REASONS["duplicate_by_email"] and blank:
        lines.append(f"legacy user {user_id}: not migrated: {BLANK}: step 1.1 took it for a "
                     f"duplicate by e-mail of user {u['duplicate_of']}, which it kept")
    elif outcome in (REASONS["duplicate_by_email"], REASONS["duplicate_by_name"]):
        lines.append(f"legacy user {user_id}: not migrated: {outcome} of user "
                     f"{u['duplicate_of']}, which step 1.1 kept (more active patients, then the "
                     f"later login, then the lower id)")
    else:
        lines.append(f"legacy user {user_id}: not migrated: {outcome} ({RULES[outcome]})")
    lines.append(f"  active: {_yes(u['is_active'])}; settings: {_yes(u['has_settings'])}; "
                 f"office: {_yes(u['has_office_assignment'])}; active patients: "
                 f"{u['patient_count']}; archived patients: {u['archived_patient_count']}; "
                 f"last login: {_utc(u['last_login']) if u['last_login'] else 'never'}")
    for gate, problem in stops:
        lines.append(f"  a run stops at the gate {gate} before any write: {problem} "
                     f"({GATE_RULES[gate]})")
    for dropped in merges.get(user_id, []):
        lines.append(f"  kept over user {dropped}: {BLANK}")
    lines.append(f"  as of: {snapshot}")
    if show_pii:
        identity = _read_source(source, "--show-pii reads the name from the source",
                                lambda conn: _identity(conn, user_id, lock_timeout))
        if identity:
            lines.append(f"  name: {identity[0]} {identity[1]}; e-mail: {identity[2]!r}")
    if target is not None:
        for doctor_id, number, profile_id, created, updated in rows:
            lines.append(f"  doctors row {doctor_id} ({number}, profile {profile_id}), "
                         f"created {_utc(created)}, updated {_utc(updated)}")
        if not rows:
            lines.append("  no doctors row in the target")
        for run_id, action, started, rolled_back in ledger:
            lines.append(f"  run {run_id} ({_utc(started)}) {DONE[action]} it"
                         + (" (rolled back)" if rolled_back else ""))
    return lines
