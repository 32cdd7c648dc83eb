"""Step 1.3 of the plan: the stop conditions checked before anything is written.

Each gate names every offending legacy user id, never a name or an e-mail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class GateResult:
    """The outcome of one stop condition."""

    name: str
    passed: bool
    summary: str
    total: int
    offenders: dict[int, str] = field(default_factory=dict)

    def offender_ids(self, limit: int | None = None) -> list[int]:
        return sorted(self.offenders)[:limit]


def _norm(values: pd.Series) -> pd.Series:
    """Trimmed and lower-cased, NULL as empty: how step 1.3 compares names and e-mails."""
    return values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()


def clean_doctor_count_is_expected(clean: pd.DataFrame, expected: int) -> GateResult:
    """Step 1.3: the operator states how many clean doctors there must be (the plan's 399)."""
    n = len(clean)
    return GateResult(
        name="clean_doctor_count_is_expected",
        passed=n == expected,
        summary=f"{n} clean doctors in the source, {expected} expected",
        total=n,
    )


def every_clean_doctor_has_one_profile(clean: pd.DataFrame) -> GateResult:
    """Step 1.3: a missing profile means the profile migration is not done; two is ambiguous."""
    counts = dict(zip(clean["user_id"], clean["profile_count"]))
    offenders = {
        int(uid): ("no doctor profile" if n == 0 else f"{n} doctor profiles")
        for uid, n in counts.items()
        if n != 1
    }
    missing = sum(1 for n in counts.values() if n == 0)
    duplicated = len(offenders) - missing
    return GateResult(
        name="every_clean_doctor_has_one_profile",
        passed=not offenders,
        summary=(
            f"{len(counts) - len(offenders)} of {len(counts)} clean doctors have exactly one "
            f"doctor profile; {missing} have none, {duplicated} have more than one"
        ),
        total=len(counts),
        offenders=offenders,
    )


def profiles_match_source(clean: pd.DataFrame) -> GateResult:
    """Step 1.3: the profile's first name, last name and e-mail equal the source's
    (trimmed, case-insensitive). Doctors without exactly one profile are the other gate's."""
    single = clean[clean["profile_count"] == 1]
    pairs = [("first_name", "profile_first_name"), ("last_name", "profile_last_name"),
             ("email", "profile_email")]
    differs = pd.DataFrame({source: _norm(single[source]) != _norm(single[profile])
                            for source, profile in pairs})
    offenders = {
        int(uid): ", ".join(c for c in differs.columns if flags[c]) + " differ"
        for uid, (_, flags) in zip(single["user_id"][differs.any(axis=1)],
                                   differs[differs.any(axis=1)].iterrows())
    }
    return GateResult(
        name="profiles_match_source",
        passed=not offenders,
        summary=(f"{len(offenders)} of {len(single)} profiles differ from the source "
                 "in name or e-mail"),
        total=len(single),
        offenders=offenders,
    )


def evaluate_gates(clean: pd.DataFrame, expected: int) -> list[GateResult]:
    """Every stop condition of step 1.3, in the plan's order."""
    return [
        clean_doctor_count_is_expected(clean, expected),
        every_clean_doctor_has_one_profile(clean),
        profiles_match_source(clean),
    ]
