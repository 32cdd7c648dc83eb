"""Jobs an operator launches from the UI or the CLI: the migration here, its dry run in
dry_run.py. All run in process: a subprocess per step would cost seconds of Dagster start-up
each (the code location's default executor, which "Materialize all" uses, is in process too).
Their launchpads open with every parameter at its default."""

from __future__ import annotations

import dagster as dg

from doctor_migration.defs.config import migration_run_config

MIGRATION = dg.AssetSelection.groups("doctor_migration")
# The dry run, `doctor-migration plan`, is a job of ops (defs/dry_run.py).
MIGRATE_JOB, DRY_RUN_JOB = "migrate_doctors", "dry_run_doctor_migration"
CHECK_JOB = "check_loaded_doctors"

migrate_doctors = dg.define_asset_job(
    MIGRATE_JOB,
    selection=MIGRATION,
    description="Migrate the clean doctors: gates, one-transaction load, validation, report.",
    config=migration_run_config(),
    executor_def=dg.in_process_executor,
)

# The checks of loaded_doctors on their own: the live target against the ledger's newest
# applied run (migration/live.py); writes nothing.
check_loaded_doctors = dg.define_asset_job(
    CHECK_JOB,
    selection=dg.AssetSelection.checks_for_assets("loaded_doctors"),
    description="Check public.doctors now against the newest applied run in the ledger "
                "(steps 3.1-3.4, the reconciliation by digest, native doctors, step 4's "
                "timings); writes nothing.",
    executor_def=dg.in_process_executor,
)
