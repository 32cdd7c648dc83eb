"""Run parameters that the Dagster launchpad shows, with their defaults."""

from __future__ import annotations

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


class LoadConfig(LockConfig):
    """How the load behaves. A dry run is not a setting of it but its own job
    (dry_run_doctor_migration), so that no materialization of loaded_doctors is a dry run."""

    create_indexes: bool = Field(
        default=False,
        description="Before the load, CREATE INDEX CONCURRENTLY on doctors(legacy_user_id) if "
                    "no index serves legacy id lookups (plan step 4.2). Off: only recommended.",
    )


def migration_run_config(expected_count: int = names.EXPECTED_COUNT, dry_run: bool = False,
                         lock_timeout: str = names.LOCK_TIMEOUT,
                         create_indexes: bool = False) -> dg.RunConfig:
    """Run config of migrate_doctors or, with dry_run, dry_run_doctor_migration (whose load
    has no index to create); with no arguments, every parameter at its default (what their
    launchpads open with)."""
    return dg.RunConfig(ops={
        "profile_coverage": LockConfig(lock_timeout=lock_timeout),
        "clean_doctors": SelectionConfig(expected_count=expected_count,
                                         lock_timeout=lock_timeout),
        "doctor_rows": LockConfig(lock_timeout=lock_timeout),
        "loaded_doctors": (LockConfig(lock_timeout=lock_timeout) if dry_run else
                           LoadConfig(lock_timeout=lock_timeout, create_indexes=create_indexes)),
    })
