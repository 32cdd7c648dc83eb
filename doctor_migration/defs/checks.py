"""Asset checks, named as the predicates they assert. Gates block: a failure stops the run
before anything is written."""

import dagster as dg

from doctor_migration.defs.resources import PostgresResource
from doctor_migration.migration.gates import GateResult
from doctor_migration.migration.load import LoadResult
from doctor_migration.migration.validation import ValidationResult, validate_target

SHOWN = 50  # offending legacy ids listed in a check's metadata

# Step 1.3 of the plan, evaluated by the clean_doctors asset itself.
CLEAN_DOCTOR_CHECKS = [
    dg.AssetCheckSpec(
        "clean_doctor_count_is_expected", asset="clean_doctors", blocking=True,
        description="Step 1.3: the source yields exactly the expected number of clean doctors.",
    ),
    dg.AssetCheckSpec(
        "every_clean_doctor_has_one_profile", asset="clean_doctors", blocking=True,
        description="Step 1.3: each clean doctor has exactly one doctor profile in the target.",
    ),
    dg.AssetCheckSpec(
        "profiles_match_source", asset="clean_doctors", blocking=True,
        description="Step 1.3: profile names and e-mails equal the source's "
                    "(trimmed, case-insensitive).",
    ),
]

# Steps 3.1-3.4, evaluated against the committed target.
LOADED_DOCTOR_CHECKS = [
    dg.AssetCheckSpec(name, asset="loaded_doctors", blocking=True, description=text)
    for name, text in [
        ("migrated_doctor_count_is_expected",
         "Step 3.1: as many migrated doctors as clean doctors."),
        ("no_orphaned_doctors", "Step 3.2: every doctor has its profile."),
        ("no_test_accounts_migrated", "Step 3.3: no test, demo or internal account was migrated."),
        ("legacy_ids_present_and_unique",
         "Step 3.4: every clean legacy id has exactly one migrated row."),
    ]
]


def gate_check_result(gate: GateResult) -> dg.AssetCheckResult:
    """A gate as a check result carrying its evidence: totals and the offending legacy ids."""
    shown = gate.offender_ids(SHOWN)
    metadata: dict = {
        "summary": gate.summary,
        "total": gate.total,
        "offenders": len(gate.offenders),
        "offending_legacy_ids": dg.MetadataValue.json(shown),
        "all_offending_legacy_ids": dg.MetadataValue.text(
            " ".join(map(str, gate.offender_ids()))),
    }
    if shown:
        rows = "\n".join(f"| {uid} | {gate.offenders[uid]} |" for uid in shown)
        metadata["offending_users"] = dg.MetadataValue.md(
            f"| legacy user id | problem |\n|---|---|\n{rows}")
    return dg.AssetCheckResult(
        asset_key="clean_doctors", check_name=gate.name, passed=gate.passed, metadata=metadata)


def validation_check_result(v: ValidationResult, dry_run: bool) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key="loaded_doctors", check_name=v.name, passed=v.passed,
        metadata={"step": v.step, "summary": v.summary, "dry_run": dry_run, **v.values,
                  "offending_legacy_ids": dg.MetadataValue.json(v.offenders[:SHOWN])},
    )


@dg.multi_asset_check(specs=LOADED_DOCTOR_CHECKS)
def loaded_doctors_pass_validation(loaded_doctors: LoadResult, target: PostgresResource):
    """Steps 3.1-3.4 on the committed target (a dry run reports its rolled-back state)."""
    if loaded_doctors.dry_run:
        results = loaded_doctors.validation
    else:
        with target.connect() as conn, conn.transaction():
            results = validate_target(conn, loaded_doctors.legacy_ids)
    for v in results:
        yield validation_check_result(v, loaded_doctors.dry_run)
