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
                    "ledger holds that changed doctors and is not rolled back yet (a run that "
                    "changed nothing is never picked: it has nothing to undo). "
                    + WHERE_RUN_IDS_ARE)
    lock_timeout: str = Field(
        default=names.LOCK_TIMEOUT,
        description="How long to wait for another session's lock on doctors or the ledger "
                    "before stopping with nothing changed.")


def rollback_materialization(result: ledger.RollbackResult) -> dg.AssetMaterialization:
    """The rollback as a change to public.doctors: loaded_doctors as the rollback left it."""
    return dg.AssetMaterialization(
        asset_key="loaded_doctors",
        description=f"Rollback of run {result.run_id}: public.doctors as it was before that "
                    f"run ({result.counts}).",
        metadata={"rolled_back_run_id": result.run_id, "inserted_rows_removed": result.removed,
                  "updated_rows_restored": result.restored,
                  "deleted_rows_recreated": result.recreated,
                  "dagster/row_count": result.doctors,
                  "seconds": round(result.seconds, 3),
                  "not_restored": result.caveats})


# out={}: the op carries nothing to a next step, so no IO manager handles an output.
@dg.op(out={}, description="Restore public.doctors exactly as it was before the run, or "
                           "refuse; record the rollback as a materialization of loaded_doctors.")
@fails_with_reason
def rollback_run(context: dg.OpExecutionContext, config: RollbackConfig,
                 target: PostgresResource):
    run_id = config.run_id.strip()
    with target.connect() as conn:
        if not run_id:
            last = ledger.last_run(conn, config.lock_timeout)
            run_id = last.run_id
            context.log.info(f"no run_id given: rolling back {last.described}")
        with locks.naming_blockers(conn, "target", ROLLBACK_TABLES, config.lock_timeout):
            result = ledger.rollback(conn, run_id, Timeouts(lock_timeout=config.lock_timeout))
    if result.changed_nothing:
        context.log.info(ledger.nothing_to_undo(result.run_id))
        return
    context.instance.add_run_tags(context.run_id, {names.UNDOES_TAG: result.run_id})
    yield rollback_materialization(result)
    context.log.info(f"rolled back run {result.run_id}: {result.counts}"
                     + (f"; {result.caveats}" if result.caveats else ""))


@dg.job(executor_def=dg.in_process_executor,
        config=dg.RunConfig(ops={"rollback_run": RollbackConfig()}),
        description="Undo one migration run exactly, by its run id (empty: the newest run that "
                    "changed doctors and is not rolled back); recorded as a materialization of "
                    "loaded_doctors, the run tagged "
                    f"`{names.UNDOES_TAG}` with the run it undid. " + WHERE_RUN_IDS_ARE)
def rollback_doctor_migration():
    rollback_run()
