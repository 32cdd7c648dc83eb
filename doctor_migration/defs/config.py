"""Run parameters that the Dagster launchpad shows, with their defaults: the run-wide settings
every step reads, once per run (a resource), and the one choice only the load has."""

from __future__ import annotations

from typing import Optional

import dagster as dg
from pydantic import Field

from doctor_migration import names

# The resource key of the run-wide settings: `resources: settings: config:` in a launchpad.
SETTINGS = "settings"


class MigrationSettings(dg.ConfigurableResource):
    """The settings of a run (or a dry run), which every step reads: set once per run."""

    lock_timeout: str = Field(
        default=names.LOCK_TIMEOUT,
        description="How long any step waits for another session's lock before stopping "
                    "with nothing changed.",
    )
    expected_count: int = Field(
        default=names.EXPECTED_COUNT, gt=0,
        description="Clean doctors the source must yield (step 1.3); "
                    "the run stops before any write otherwise.",
    )
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


class LoadConfig(dg.Config):
    """What only a real load may do. A dry run is not a setting of it but its own job
    (dry_run_doctor_migration), so that no materialization of loaded_doctors is a dry run."""

    create_indexes: bool = Field(
        default=False,
        description="Before the load, CREATE INDEX CONCURRENTLY on doctors(legacy_user_id) if "
                    "no index serves legacy id lookups (plan step 4.2); it waits for older "
                    "snapshots no longer than lock_timeout. Off: only recommended.",
    )


def migration_run_config(expected_count: int = names.EXPECTED_COUNT, dry_run: bool = False,
                         lock_timeout: str = names.LOCK_TIMEOUT,
                         create_indexes: bool = False,
                         max_deletes: int | None = None) -> dg.RunConfig:
    """Run config of migrate_doctors or, with dry_run, dry_run_doctor_migration (whose load
    has no index to create); with no arguments, every parameter at its default (what their
    launchpads open with)."""
    settings = MigrationSettings(lock_timeout=lock_timeout, expected_count=expected_count,
                                 max_deletes=max_deletes)
    return dg.RunConfig(
        ops={} if dry_run else {"loaded_doctors": LoadConfig(create_indexes=create_indexes)},
        resources={SETTINGS: settings})
