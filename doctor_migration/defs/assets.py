"""The migration plan as five assets:
profile_coverage -> clean_doctors -> doctor_rows -> loaded_doctors -> validation_report."""

from datetime import datetime, timezone

import dagster as dg
import pandas as pd

from doctor_migration.defs.checks import CLEAN_DOCTOR_CHECKS, SHOWN, gate_check_result
from doctor_migration.defs.config import LoadConfig, SelectionConfig
from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration import selection
from doctor_migration.migration.gates import evaluate_gates
from doctor_migration.migration.load import LoadResult, load_doctors
from doctor_migration.migration.mapping import build_doctor_rows
from doctor_migration.migration.report import markdown_table, render_report
from doctor_migration.migration.target import Timeouts
from doctor_migration.migration.validation import validate_target

GROUP = "doctor_migration"
# Columns that identify people; dropped once the gates have compared them.
PII_COLUMNS = ["first_name", "last_name", "email", "username",
               "profile_first_name", "profile_last_name", "profile_email"]


@dg.asset(group_name=GROUP, kinds={"postgres"})
def profile_coverage(target: PostgresResource) -> dg.Output[pd.DataFrame]:
    """Phase 1 of the plan: the doctor profiles the profile migration left in the target."""
    with target.connect() as conn:
        profiles = selection.fetch_doctor_profiles(conn)
    per_id = profiles["legacy_user_id"].value_counts()
    several = sorted(int(i) for i in per_id[per_id > 1].index)
    return dg.Output(profiles, metadata={
        "dagster/row_count": len(profiles),
        "legacy_users_with_a_profile": len(per_id),
        "legacy_users_with_several_profiles": len(several),
        "several_profiles_legacy_ids": dg.MetadataValue.json(several[:SHOWN]),
    })


@dg.asset(group_name=GROUP, kinds={"postgres"}, check_specs=CLEAN_DOCTOR_CHECKS)
def clean_doctors(config: SelectionConfig, source: PostgresResource,
                  profile_coverage: pd.DataFrame):
    """Step 1.1 of the plan on the source, joined with each doctor's profile; gated by step 1.3."""
    with source.connect() as conn:
        clean = selection.fetch_clean_doctors(conn)
    joined = selection.attach_profiles(clean, profile_coverage)
    gates = evaluate_gates(joined, config.expected_count)
    yield dg.Output(joined.drop(columns=PII_COLUMNS), metadata={
        "dagster/row_count": len(joined),
        "expected_count": config.expected_count,
        "with_office_assignment": int(joined["has_office_assignment"].sum()),
        "with_settings": int(joined["has_settings"].sum()),
        "deduplicated_by_name": int((joined["deduplication_method"] == "name_fallback").sum()),
    })
    for gate in gates:
        yield gate_check_result(gate)


@dg.asset(group_name=GROUP, kinds={"pandas"})
def doctor_rows(clean_doctors: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Steps 2.2 and 2.3: one doctors row per clean doctor, with its migration metadata."""
    rows = build_doctor_rows(clean_doctors, datetime.now(timezone.utc).date())
    preview = rows[["legacy_user_id", "doctor_number", "years_experience", "licensed_since"]]
    return dg.Output(rows, metadata={
        "dagster/row_count": len(rows),
        "preview": dg.MetadataValue.md(markdown_table(
            list(preview.columns), preview.head(10).values.tolist())),
    })


@dg.asset(group_name=GROUP, kinds={"postgres"})
def loaded_doctors(context: dg.AssetExecutionContext, config: LoadConfig,
                   target: PostgresResource, doctor_rows: pd.DataFrame) -> dg.Output[LoadResult]:
    """Steps 2.2-3.4 in one target transaction: insert, update in place, delete the no longer
    clean, validate, record in the ledger; all or nothing."""
    with target.connect() as conn:
        result = load_doctors(
            conn, doctor_rows, run_id=context.run.run_id,
            # The blocking count gate upstream made the clean count the expected one.
            expected_count=len(doctor_rows), dry_run=config.dry_run,
            timeouts=Timeouts(lock_timeout=config.lock_timeout),
        )
    return dg.Output(result, metadata={
        "dry_run": result.dry_run,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "rows_written": 0 if result.dry_run else result.written,
        "load_seconds": round(result.seconds, 3),
        "ledger_run_id": result.run_id,
    })


@dg.asset(group_name=GROUP, kinds={"markdown"})
def validation_report(loaded_doctors: LoadResult, target: PostgresResource) -> dg.MaterializeResult:
    """The outcome for the operator: counts, changed columns, steps 3.1-3.4, the ledger entry."""
    validation = loaded_doctors.validation
    if not loaded_doctors.dry_run:
        with target.connect() as conn, conn.transaction():
            validation = validate_target(conn, loaded_doctors.legacy_ids)
    report = render_report(loaded_doctors, validation)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.md(report),
        "all_passed": all(v.passed for v in validation),
    })
