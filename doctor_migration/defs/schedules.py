"""A daily dry run: what a migration would change now (drift), recorded in the run's metadata."""

import dagster as dg

from doctor_migration.defs.jobs import plan_doctor_migration

# The dry run's loaded_doctors materialization carries inserted / updated / deleted with
# dry_run=True, so each day's plan shows how far the target has drifted from the source.
plan_doctor_migration_daily = dg.ScheduleDefinition(
    name="plan_doctor_migration_daily",
    job=plan_doctor_migration,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every day at 06:00 UTC: the dry run plan_doctor_migration; writes nothing.",
)
