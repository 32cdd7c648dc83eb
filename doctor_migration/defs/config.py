"""Run parameters that the Dagster launchpad shows, with their defaults."""

from __future__ import annotations

from typing import Optional

import dagster as dg
from pydantic import Field

from doctor_migration import names


class LockConfig(dg.Config):
    """How long a step waits for other sessions' locks."""

    lock_timeout: str = Field(
        default=names.LOCK_TIMEOUT,
        description="How long to wait for another session's lock (or, for CREATE INDEX "
                    "CONCURRENTLY, its older snapshot) before stopping with nothing changed.",
    )


class SelectionConfig(LockConfig):
    """How many clean doctors the operator expects (step 1.3 of the plan)."""

    expected_count: int = Field(
        default=names.EXPECTED_COUNT, gt=0,
        description="Clean doctors the source must yield; "
                    "the run stops before any write otherwise.",
    )


class LoadBounds(LockConfig):
    """What a load (or a dry run's) may do: its limits."""

    max_deletes: Optional[int] = Field(
        default=None, ge=0,
        description="The most migrated doctors (no longer clean) the load may delete; the run "
                    "stops before any write above it. Empty: the larger of "
                    f"{names.DELETE_LIMIT_FLOOR} and {names.DELETE_LIMIT_PERCENT}% of the "
                    "migrated doctors before the run.",
    )
    max_snapshot_age: str = Field(
        default=names.MAX_SNAPSHOT_AGE,
        description="A re-execution that reuses its root run's stage migrates the source as "
                    "it was read then; it refuses a snapshot older than this (an interval).",
    )


class LoadConfig(LoadBounds):
    """How the load behaves. A dry run is not a setting of it but its own job
    (dry_run_doctor_migration), so that no materialization of loaded_doctors is a dry run."""

    create_indexes: bool = Field(
        default=False,
        description="Before the load, CREATE INDEX CONCURRENTLY on doctors(legacy_user_id) if "
                    "no index serves legacy id lookups (plan step 4.2). Off: only recommended.",
    )


def migration_run_config(expected_count: int = names.EXPECTED_COUNT, dry_run: bool = False,
                         lock_timeout: str = names.LOCK_TIMEOUT,
                         create_indexes: bool = False,
                         max_deletes: int | None = None) -> dg.RunConfig:
    """Run config of migrate_doctors or, with dry_run, dry_run_doctor_migration (whose load
    has no index to create); with no arguments, every parameter at its default (what their
    launchpads open with)."""
    return dg.RunConfig(ops={
        "profile_coverage": LockConfig(lock_timeout=lock_timeout),
        "clean_doctors": SelectionConfig(expected_count=expected_count,
                                         lock_timeout=lock_timeout),
        "doctor_rows": LockConfig(lock_timeout=lock_timeout),
        "loaded_doctors": (
            LoadBounds(lock_timeout=lock_timeout, max_deletes=max_deletes) if dry_run else
            LoadConfig(lock_timeout=lock_timeout, create_indexes=create_indexes,
                       max_deletes=max_deletes)),
    })
