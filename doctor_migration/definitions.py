"""Everything the doctor_migration code location holds, assembled in one place."""

import dagster as dg

from doctor_migration.defs import assets, dry_run, jobs, schedules, sensors, sources
from doctor_migration.defs.config import SETTINGS, MigrationSettings
from doctor_migration.defs.loggers import progress_logger
from doctor_migration.defs.resources import legacy_source, supabase_target
from doctor_migration.defs.rollback import rollback_doctor_migration

defs = dg.Definitions(
    assets=[
        *sources.LEGACY_TABLES,
        sources.profiles,
        assets.profile_coverage,
        assets.clean_doctors,
        assets.doctor_rows,
        assets.loaded_doctors,
        assets.validation_report,
    ],
    jobs=[jobs.migrate_doctors, jobs.check_loaded_doctors, dry_run.dry_run_doctor_migration,
          rollback_doctor_migration],
    sensors=[sensors.profile_migration_sensor],
    schedules=[schedules.dry_run_doctor_migration_daily, schedules.check_loaded_doctors_daily],
    resources={
        "source": legacy_source(),
        "target": supabase_target(),
        # The run-wide settings, at their defaults: a launchpad or the CLI sets them per run.
        SETTINGS: MigrationSettings(),
    },
    loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    # "Materialize all" and any asset launched from the UI run in one process, as the jobs do:
    # the default multiprocess executor starts a process per step, seconds each.
    executor=dg.in_process_executor,
)
