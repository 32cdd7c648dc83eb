"""Daily: a dry run, what a migration would change now (drift), recorded in its observations;
and the checks of loaded_doctors on the live target."""

import dagster as dg

from doctor_migration.defs.dry_run import dry_run_doctor_migration
from doctor_migration.defs.jobs import check_loaded_doctors

# The dry run's observation of loaded_doctors carries inserted / updated / deleted with
# dry_run=True, so each day's dry run shows how far the target has drifted from the source.
dry_run_doctor_migration_daily = dg.ScheduleDefinition(
    name="dry_run_doctor_migration_daily",
    job=dry_run_doctor_migration,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every day at 06:00 UTC: the dry run dry_run_doctor_migration; writes nothing.",
)

# The checks of loaded_doctors each day: someone editing migrated doctors by hand shows as a
# failed check on the asset.
check_loaded_doctors_daily = dg.ScheduleDefinition(
    name="check_loaded_doctors_daily",
    job=check_loaded_doctors,
    cron_schedule="30 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every day at 06:30 UTC: the checks of loaded_doctors against the newest "
                "applied run (check_loaded_doctors); writes nothing.",
)
