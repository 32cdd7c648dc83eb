"""The exact undo of a migration run, as a job an operator launches from the UI."""

import dagster as dg
from pydantic import Field

from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration import ledger, locks
from doctor_migration.migration.target import ROLLBACK_TABLES, Timeouts


class RollbackConfig(dg.Config):
    """Which run to undo."""

    run_id: str = Field(description="Dagster run id of the migration run to undo "
                                    "(`doctor-migration history` lists them).")
    lock_timeout: str = Field(
        default="30s",
        description="How long to wait for another session's lock on doctors or the ledger "
                    "before stopping with nothing changed.")


@dg.op(description="Restore public.doctors exactly as it was before the run, or refuse.")
def rollback_run(context: dg.OpExecutionContext, config: RollbackConfig,
                 target: PostgresResource):
    with target.connect() as conn, locks.naming_blockers(conn, "target", ROLLBACK_TABLES,
                                                         config.lock_timeout):
        result = ledger.rollback(conn, config.run_id, Timeouts(lock_timeout=config.lock_timeout))
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
        description="Undo one migration run exactly, by its run id.")
def rollback_doctor_migration():
    rollback_run()
