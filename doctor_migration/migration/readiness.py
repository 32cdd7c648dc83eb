"""Phase 1 finished? When the migration may start on its own: every clean doctor has exactly one
doctor profile (step 1.3's gate) and the profiles have stopped changing for a quiet period, so
the profile migration is not still writing. What the sensor remembers between evaluations is a
ProfileWatch, kept as JSON in its cursor."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from typing import TYPE_CHECKING

import psycopg

from doctor_migration.migration.gates import GateResult, every_clean_doctor_has_one_profile
from doctor_migration.migration.selection import (
    PROFILE_COLUMNS,
    fetch_clean_doctors,
    fetch_doctor_profiles,
    profile_counts,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class ProfileState:
    """The doctor profiles in the target, held against the clean doctors in the source."""

    profile_count: int
    fingerprint: str
    gate: GateResult


def fingerprint(profiles: pd.DataFrame) -> str:
    """A digest of every doctor profile's fields the migration reads; any edit changes it."""
    rows = sorted(
        json.dumps([None if v is None else str(v) for v in row])
        for row in profiles[PROFILE_COLUMNS].itertuples(index=False)
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:32]


def read_profile_state(source: psycopg.Connection, target: psycopg.Connection) -> ProfileState:
    """Phase 1's profiles and step 1.1's clean doctors, measured by step 1.3's profile gate."""
    profiles = fetch_doctor_profiles(target)
    clean = fetch_clean_doctors(source)
    gate = every_clean_doctor_has_one_profile(len(clean), profile_counts(clean, profiles))
    return ProfileState(len(profiles), fingerprint(profiles), gate)


@dataclass(frozen=True)
class ProfileWatch:
    """The profiles last seen, since when they have been as they are, and the profiles a
    migration was last requested for."""

    fingerprint: str | None = None
    profile_count: int | None = None
    since: datetime | None = None
    requested: str | None = None

    def to_json(self) -> str:
        values = asdict(self)
        values["since"] = self.since.isoformat() if self.since else None
        return json.dumps(values, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> ProfileWatch:
        if not text:
            return cls()
        values = json.loads(text)
        since = values.get("since")
        return cls(
            fingerprint=values.get("fingerprint"),
            profile_count=values.get("profile_count"),
            since=datetime.fromisoformat(since) if since else None,
            requested=values.get("requested"),
        )


@dataclass(frozen=True)
class Decision:
    """Whether to start a migration now, why, and what to remember."""

    start: bool
    reason: str
    watch: ProfileWatch


def decide(watch: ProfileWatch, state: ProfileState, now: datetime,
           quiet: timedelta) -> Decision:
    """Start once per state of the profiles: when they are complete and have been unchanged
    for `quiet`; a later change of the profiles makes them a new state."""
    if state.fingerprint != watch.fingerprint or watch.since is None:
        watch = replace(watch, fingerprint=state.fingerprint,
                        profile_count=state.profile_count, since=now)
    profiles = f"{state.profile_count} doctor profiles"
    if not state.gate.passed:
        return Decision(False, f"Profile migration not complete: {state.gate.summary}.", watch)
    if watch.requested == state.fingerprint:
        return Decision(False, f"A migration was already requested for these {profiles} "
                               f"(unchanged since {_when(watch.since)}); waiting for a change.",
                        watch)
    quiet_until = watch.since + quiet
    if now < quiet_until:
        return Decision(False, f"Profile migration complete ({state.gate.summary}), but the "
                               f"{profiles} are unchanged only since {_when(watch.since)}; "
                               f"waiting until {_when(quiet_until)} "
                               f"(quiet period {_duration(quiet)}).", watch)
    return Decision(True, f"Every clean doctor has one doctor profile and the {profiles} have "
                          f"not changed since {_when(watch.since)}.",
                    replace(watch, requested=state.fingerprint))


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 60} min" if seconds % 60 == 0 and seconds else f"{seconds} s"
