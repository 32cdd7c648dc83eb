"""Step 1.3 of the plan: the stop conditions checked before anything is written, as SQL over the
command's stage (clean_doctors, profile_coverage); only the offenders come back.

Each gate names every offending legacy user id, never a name or an e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from doctor_migration import names
from doctor_migration.migration.db import load_sql
from doctor_migration.names import SHOWN

# What Python's str.strip() removes, so that the SQL comparison trims as step 1.3 always has.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


@dataclass(frozen=True)
class GateResult:
    """The outcome of one stop condition."""

    name: str
    passed: bool
    summary: str
    total: int
    offenders: dict[int, str] = field(default_factory=dict)
    # False for a finding that only warns (the blank e-mail merges): it never stops a run.
    stops_run: bool = True

    def offender_ids(self, limit: int | None = None) -> list[int]:
        return sorted(self.offenders)[:limit]


def clean_doctor_count_is_expected(clean: int, expected: int) -> GateResult:
    """Step 1.3: the operator states how many clean doctors there must be (the plan's 399)."""
    return GateResult(
        name=names.CLEAN_DOCTOR_COUNT_IS_EXPECTED,
        passed=clean == expected,
        summary=f"{clean} clean doctors in the source, {expected} expected",
        total=clean,
    )


def every_clean_doctor_has_one_profile(clean: int, profiles: dict[int, int]) -> GateResult:
    """Step 1.3: a missing profile means the profile migration is not done; two is ambiguous.
    `profiles` holds how many doctor profiles each clean doctor without exactly one has."""
    offenders = {int(uid): ("no doctor profile" if n == 0 else f"{n} doctor profiles")
                 for uid, n in profiles.items()}
    missing = sum(1 for n in profiles.values() if n == 0)
    duplicated = len(offenders) - missing
    return GateResult(
        name=names.EVERY_CLEAN_DOCTOR_HAS_ONE_PROFILE,
        passed=not offenders,
        summary=(
            f"{clean - len(offenders)} of {clean} clean doctors have exactly one "
            f"doctor profile; {missing} have none, {duplicated} have more than one"
        ),
        total=clean,
        offenders=offenders,
    )


def profiles_match_source(compared: int, differing: dict[int, list[str]]) -> GateResult:
    """Step 1.3: the profile's first name, last name and e-mail equal the source's (trimmed,
    case-insensitive). Doctors without exactly one profile are the other gate's."""
    return GateResult(
        name=names.PROFILES_MATCH_SOURCE,
        passed=not differing,
        summary=(f"{len(differing)} of {compared} profiles differ from the source "
                 "in name or e-mail"),
        total=compared,
        offenders={int(uid): ", ".join(columns) + " differ" for uid, columns in differing.items()},
    )


# The ways out of no_profile_has_another_doctor, each a statement the operator runs as the
# target's `postgres`: adopt the row (the run then updates it in place, keeping its id and every
# column the mapping does not write), or delete it when the legacy record wins.
ADOPT_DOCTOR = "UPDATE public.doctors SET legacy_user_id = {legacy_id} WHERE id = '{doctor_id}';"
DELETE_DOCTOR = "DELETE FROM public.doctors WHERE id = '{doctor_id}';"
ANOTHER_DOCTOR = "clean doctors' profiles already have another doctors row"
ANOTHER_DOCTOR_ADVICE = (
    "adopt the row with " + ADOPT_DOCTOR.format(legacy_id="<legacy id>", doctor_id="<doctors.id>")
    + " or, if the legacy record wins, remove it with "
    + DELETE_DOCTOR.format(doctor_id="<doctors.id>"))


def other_doctors(rows: list[tuple]) -> dict[int, str]:
    """(legacy user id, profile id, doctors.id, the row's legacy_user_id) rows as each legacy
    user's problem: the profile and the row already there, by id."""
    offenders: dict[int, str] = {}
    for uid, profile_id, doctor_id, migrated_for in rows:
        whose = "native" if migrated_for is None else f"migrated for legacy user {migrated_for}"
        found = f"profile {profile_id} already has doctors row {doctor_id} ({whose})"
        offenders[int(uid)] = f"{offenders[int(uid)]}; {found}" if int(uid) in offenders \
            else found
    return offenders


def another_doctor_stop(rows: list[tuple]) -> str:
    """The sentence of a load that finds such rows (the gate's, with the offenders inline)."""
    offenders = other_doctors(rows)
    named = "; ".join(f"legacy user {uid}: {offenders[uid]}" for uid in sorted(offenders)[:SHOWN])
    return f"{len(offenders)} {ANOTHER_DOCTOR}: {named}; {ANOTHER_DOCTOR_ADVICE}"


def no_profile_has_another_doctor(clean: int, rows: list[tuple]) -> GateResult:
    """Step 1.3: a clean doctor's profile holds no doctors row but its own migrated one; the
    load would insert a second doctors row for the profile. `rows` as other_doctors takes."""
    offenders = other_doctors(rows)
    return GateResult(
        name=names.NO_PROFILE_HAS_ANOTHER_DOCTOR,
        passed=not offenders,
        summary=f"{len(offenders)} of {clean} {ANOTHER_DOCTOR}"
                + (f"; {ANOTHER_DOCTOR_ADVICE}" if offenders else ""),
        total=clean,
        offenders=offenders,
    )


def no_clean_doctor_fails_step_3_3(clean: int, matches: list[tuple[int, str, str]]) -> GateResult:
    """Step 3.3, predicted: a clean doctor whose source or profile e-mail matches one of its
    rules would roll the load back after every write was done; stop before instead.
    `matches` holds (legacy user id, side, rule) for each match."""
    offenders: dict[int, str] = {}
    for uid, side, rule in matches:
        found = f"{side} e-mail {rule}"
        offenders[int(uid)] = f"{offenders[int(uid)]}; {found}" if int(uid) in offenders \
            else found
    return GateResult(
        name=names.NO_CLEAN_DOCTOR_FAILS_STEP_3_3,
        passed=not offenders,
        summary=(f"{len(offenders)} of {clean} clean doctors have a test, demo or internal "
                 "e-mail (step 3.3's rules) in the source or in their profile"),
        total=clean,
        offenders=offenders,
    )


@dataclass(frozen=True)
class Evaluation:
    """What step 1.3 found in the command's stage: the clean doctors counted (the clean_doctors
    step's metadata: clean_doctors, with_office_assignment, with_settings,
    deduplicated_by_name) and every stop condition, in the plan's order."""

    summary: dict[str, int]
    gates: list[GateResult]


def evaluate(conn: psycopg.Connection, stage_id: str, expected: int) -> Evaluation:
    """Step 1.3 over the command's stage: one pass over its clean doctors and profiles
    (select_gate_offenders.sql), and one over the doctors their profiles already hold."""
    params = {"run_id": stage_id}
    cur = conn.execute(load_sql("select_gate_offenders"),
                       {**params, "whitespace": WHITESPACE, **names.TEST_ACCOUNT_RULES})
    found = dict(zip([d.name for d in cur.description], cur.fetchone()))
    offenders = found.pop("offenders")
    compared = found.pop("compared")
    clean = found["clean_doctors"]
    matches = [(o["user_id"], side, rule) for o in offenders
               for side in ("source", "profile") for rule in sorted(o[f"{side}_rules"])]
    return Evaluation(summary=found, gates=[
        clean_doctor_count_is_expected(clean, expected),
        every_clean_doctor_has_one_profile(
            clean, {o["user_id"]: o["profiles"] for o in offenders if o["profiles"] != 1}),
        profiles_match_source(
            compared, {o["user_id"]: o["differing"] for o in offenders if o["differing"]}),
        no_profile_has_another_doctor(
            clean, conn.execute(load_sql("select_profiles_with_other_doctors"), params).fetchall()),
        no_clean_doctor_fails_step_3_3(clean, matches),
    ])


def evaluate_gates(conn: psycopg.Connection, stage_id: str, expected: int) -> list[GateResult]:
    """Every stop condition of step 1.3 over the command's stage, in the plan's order."""
    return evaluate(conn, stage_id, expected).gates
