"""Steps 3.1 to 3.4 of the plan in SQL on the target: inside the load's transaction, against
the rows it merges (pg_temp.doctor_stage); or on their own, against the ledger's record of the
newest applied run (run_digests)."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from doctor_migration import names
from doctor_migration.migration.db import load_sql
from doctor_migration.names import SHOWN

# The clean doctors' legacy ids the load merges.
STAGED = sql.SQL("pg_temp.doctor_stage")


def clean_of_run(run_id: str) -> sql.Composable:
    """The clean doctors' legacy ids of a committed run, as the ledger recorded them."""
    return sql.SQL("(SELECT legacy_user_id FROM doctor_migration.run_digests "
                   "WHERE run_id = {})").format(sql.Literal(run_id))


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of one of the plan's post-migration validations."""

    step: str
    name: str
    passed: bool
    summary: str
    values: dict[str, int] = field(default_factory=dict)
    offenders: list[int] = field(default_factory=list)  # the first SHOWN


def _naming(legacy_ids: list[int]) -> str:
    """The offenders at the end of a check's summary (the first SHOWN of them)."""
    if not legacy_ids:
        return ""
    shown = ", ".join(map(str, legacy_ids[:SHOWN]))
    more = f" and {len(legacy_ids) - SHOWN} more" if len(legacy_ids) > SHOWN else ""
    return f": legacy user{'s' if len(legacy_ids) > 1 else ''} {shown}{more}"


def validate_target(conn: psycopg.Connection, expected: int,
                    clean: sql.Composable = STAGED) -> list[ValidationResult]:
    """Steps 3.1–3.4 over the target as `conn` sees it, for the `expected` clean doctors whose
    legacy ids `clean` holds (the rows the load merges, or clean_of_run); each names its
    offending legacy ids."""
    def statement(name: str) -> sql.Composable:
        return sql.SQL(load_sql(name)).format(clean=clean)

    cur = conn.execute(statement("validate_doctors"), names.TEST_ACCOUNT_PATTERNS)
    v = dict(zip([d.name for d in cur.description], cur.fetchone()))
    missing = [r[0] for r in conn.execute(statement("select_missing_legacy_ids")).fetchall()]
    migrated, unique = v["migrated_doctors"], v["unique_legacy_ids"]
    unexpected = sorted(set(v["unexpected_legacy_ids"]) | set(missing))
    test_accounts = v["test_account_legacy_ids"]
    duplicated = v["duplicated_legacy_ids"]
    return [
        ValidationResult(
            "3.1", names.MIGRATED_DOCTOR_COUNT_IS_EXPECTED, migrated == expected,
            f"{migrated} migrated doctors, {expected} clean doctors"
            + (_naming(unexpected) if migrated != expected else ""),
            {"migrated_doctors": migrated, "expected": expected,
             "native_doctors": v["native_doctors"]},
            unexpected if migrated != expected else [],
        ),
        ValidationResult(
            "3.2", names.NO_ORPHANED_DOCTORS, v["orphaned_doctors"] == 0,
            f"{v['orphaned_doctors']} doctors without a profile"
            + _naming(v["orphaned_legacy_ids"]),
            {"orphaned_doctors": v["orphaned_doctors"]},
            v["orphaned_legacy_ids"],
        ),
        ValidationResult(
            "3.2", names.NO_PROFILE_HAS_TWO_DOCTORS, v["shared_profiles"] == 0,
            f"{v['shared_profiles']} profiles of migrated doctors hold more than one doctors row"
            + _naming(v["shared_profile_legacy_ids"]),
            {"shared_profiles": v["shared_profiles"]},
            v["shared_profile_legacy_ids"],
        ),
        ValidationResult(
            "3.3", names.NO_TEST_ACCOUNTS_MIGRATED, not test_accounts,
            f"{len(test_accounts)} migrated doctors with a test/demo/internal e-mail"
            + _naming(test_accounts),
            {"test_accounts": len(test_accounts)},
            test_accounts,
        ),
        ValidationResult(
            "3.4", names.LEGACY_IDS_PRESENT_AND_UNIQUE,
            not missing and unique == migrated,
            f"{len(missing)} clean legacy ids missing, {migrated - unique} duplicated"
            + _naming(sorted(set(missing) | set(duplicated))),
            {"total_migrated": migrated, "unique_legacy_ids": unique, "missing": len(missing)},
            sorted(set(missing) | set(duplicated)),
        ),
    ]
