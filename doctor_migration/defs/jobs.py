"""Jobs an operator launches from the UI or the CLI. All run in process: a subprocess per
step would cost seconds of Dagster start-up each (the code location's default executor, which
"Materialize all" uses, is in process too). Their launchpads open with every parameter at its
default."""

from __future__ import annotations

import dagster as dg

from doctor_migration.defs.config import migration_run_config

MIGRATION = dg.AssetSelection.groups("doctor_migration")
MIGRATE_JOB, PLAN_JOB = "migrate_doctors", "plan_doctor_migration"

migrate_doctors = dg.define_asset_job(
    MIGRATE_JOB,
    selection=MIGRATION,
    description="Migrate the clean doctors: gates, one-transaction load, validation, report.",
    config=migration_run_config(),
    executor_def=dg.in_process_executor,
)

plan_doctor_migration = dg.define_asset_job(
    PLAN_JOB,
    selection=MIGRATION,
    description="Dry run: every gate and the whole load, rolled back; reports what a run would do.",
    config=migration_run_config(dry_run=True),
    executor_def=dg.in_process_executor,
)
