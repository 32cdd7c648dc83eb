"""The exact undo of a migration run, as a job an operator launches from the UI."""

import dagster as dg
from pydantic import Field

from doctor_migration import names
from doctor_migration.defs.failures import fails_with_reason
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration import ledger, locks
from doctor_migration.migration.target import ROLLBACK_TABLES, Timeouts

# Where a UI user finds run ids: no command line needed.
WHERE_RUN_IDS_ARE = (
    "The run id of each migration is the `ledger_run_id` in the metadata of its "
    "`loaded_doctors` materialization (Assets > loaded_doctors) and in the Ledger section "
    "of its `validation_report`; `doctor-migration history` lists them too.")


class RollbackConfig(dg.Config):
    """Which run to undo."""

    run_id: str = Field(
        default="",
        description="Dagster run id of the migration run to undo; empty: the newest run the "
                    "ledger holds that is not rolled back yet. " + WHERE_RUN_IDS_ARE)
    lock_timeout: str = Field(
        default=names.LOCK_TIMEOUT,
        description="How long to wait for another session's lock on doctors or the ledger "
                    "before stopping with nothing changed.")


@dg.op(description="Restore public.doctors exactly as it was before the run, or refuse.")
@fails_with_reason
def rollback_run(context: dg.OpExecutionContext, config: RollbackConfig,
                 target: PostgresResource):
    run_id = config.run_id.strip()
    with target.connect() as conn:
        if not run_id:
            run_id = ledger.last_run_id(conn, config.lock_timeout)
            context.log.info(f"no run_id given: rolling back the newest applied run, {run_id}")
        with locks.naming_blockers(conn, "target", ROLLBACK_TABLES, config.lock_timeout):
            result = ledger.rollback(conn, run_id, Timeouts(lock_timeout=config.lock_timeout))
    metadata = {"rolled_back_run_id": result.run_id, "inserted_rows_removed": result.removed,
                "updated_rows_restored": result.restored,
                "deleted_rows_recreated": result.recreated,
                "seconds": round(result.seconds, 3),
                "not_restored": result.caveats}
    yield dg.AssetObservation(asset_key="loaded_doctors", metadata=metadata)
    context.log.info(f"rolled back run {result.run_id}: {result.removed} inserted rows removed, "
                     f"{result.restored} updated rows restored, "
                     f"{result.recreated} deleted rows recreated"
                     + (f"; {result.caveats}" if result.caveats else ""))
    yield dg.Output(None)


@dg.job(executor_def=dg.in_process_executor,
        config=dg.RunConfig(ops={"rollback_run": RollbackConfig()}),
        description="Undo one migration run exactly, by its run id (empty: the newest applied "
                    "run). " + WHERE_RUN_IDS_ARE)
def rollback_doctor_migration():
    rollback_run()
