"""The names and defaults the layers share, defined once: the domain (migration/), its SQL (bound
as parameters), the Dagster definitions (defs/) and the command line read them from here. Plain
values only, no imports: the command line loads this before anything heavy."""

# The run's defaults: the plan's count of clean doctors (step 1.3), and how long any wait for
# a lock or a snapshot lasts before the tool gives up (a PostgreSQL interval).
EXPECTED_COUNT = 399
LOCK_TIMEOUT = "30s"
# How many migrated doctors a run may delete unless the operator says (--max-deletes): the
# larger of DELETE_LIMIT_FLOOR and DELETE_LIMIT_PERCENT of the migrated rows before the run.
DELETE_LIMIT_FLOOR = 10
DELETE_LIMIT_PERCENT = 5
# A re-execution that reuses its root run's stage refuses a source snapshot older than this
# (a PostgreSQL interval).
MAX_SNAPSHOT_AGE = "1h"
# The tool's own limits on its transactions on the target (set_transaction_settings.sql): a
# statement, and a wait for the tool inside a transaction.
STATEMENT_TIMEOUT = "30min"
IDLE_TIMEOUT = "5min"
# How many offending legacy ids (or rows) a sentence, a check's metadata or a refusal names.
SHOWN = 50

# Supabase's own login roles, which read every table of a project whatever its grants (the
# superuser supabase_admin; postgres, supabase_read_only_user and supabase_etl_admin, members of
# pg_read_all_data; cli_login_postgres, the CLI's login as postgres): the preflight's warning
# about roles that read the tool's tables past their grants leaves them to docs/operating.md.
SUPABASE_PLATFORM_ROLES = ["supabase_admin", "postgres", "supabase_read_only_user",
                           "supabase_etl_admin", "cli_login_postgres"]

# Exit codes of the command line.
EXIT_OK = 0
EXIT_STOPPED = 1  # a stop condition of the plan held, or a rollback was refused
EXIT_BAD_INPUT = 2
# The load committed, then a later step failed or was interrupted: the migration is applied and
# `doctor-migration rollback <run id>` undoes it. A code of its own because 1, 75 and 130 promise
# that nothing was changed; 3 is the first free one, clear of sysexits' 64-78 and the shells'
# 126 and up.
EXIT_COMMITTED = 3
EXIT_BUSY = 75  # sysexits EX_TEMPFAIL: another session is in the way, try again later
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a death by SIGINT

# The run tag that records which target a run (or plan) ran against: host:port/dbname, no
# user, no password (`report` shows the newest run against the current target).
TARGET_TAG = "doctor_migration/target"
# The run tag of a rollback that undid a run: that run's id (the runs list and the history of
# loaded_doctors show which run each rollback undid).
UNDOES_TAG = "doctor_migration/undoes"

# Asset checks, named as the predicates they assert. Step 1.3, on clean_doctors (gates.py,
# accounting.py):
CLEAN_DOCTOR_COUNT_IS_EXPECTED = "clean_doctor_count_is_expected"
EVERY_CLEAN_DOCTOR_HAS_ONE_PROFILE = "every_clean_doctor_has_one_profile"
PROFILES_MATCH_SOURCE = "profiles_match_source"
NO_PROFILE_HAS_ANOTHER_DOCTOR = "no_profile_has_another_doctor"
NO_CLEAN_DOCTOR_FAILS_STEP_3_3 = "no_clean_doctor_fails_step_3_3"
EVERY_SOURCE_USER_ACCOUNTED_FOR = "every_source_user_accounted_for"
# A warning on clean_doctors: users step 1.1 merged under a blank e-mail (accounting.py).
NO_USERS_MERGED_UNDER_A_BLANK_EMAIL = "no_users_merged_under_a_blank_email"
# Steps 3.1-3.4, on loaded_doctors (validation.py):
MIGRATED_DOCTOR_COUNT_IS_EXPECTED = "migrated_doctor_count_is_expected"
NO_ORPHANED_DOCTORS = "no_orphaned_doctors"
NO_PROFILE_HAS_TWO_DOCTORS = "no_profile_has_two_doctors"
NO_TEST_ACCOUNTS_MIGRATED = "no_test_accounts_migrated"
LEGACY_IDS_PRESENT_AND_UNIQUE = "legacy_ids_present_and_unique"
# Reconciliation, on loaded_doctors (reconcile.py, defs/checks.py):
MIGRATED_ROWS_MATCH_MAPPING = "migrated_rows_match_mapping"
NATIVE_DOCTORS_UNTOUCHED = "native_doctors_untouched"
# Step 4, warnings only (timings.py):
PROFILE_JOIN_UNDER_100MS = "profile_join_under_100ms"
LEGACY_ID_LOOKUP_UNDER_10MS = "legacy_id_lookup_under_10ms"

# The test/demo/internal-account LIKE patterns of steps 1.1 and 3.3, as the plan writes them,
# bound into select_user_outcomes.sql, select_gate_offenders.sql and validate_doctors.sql.
# "test" and "demo" match the lower-cased text; the internal domains match the e-mail as
# written (case-sensitive, as in the plan). select_clean_doctors.sql is the plan's step 1.1
# verbatim, with these literals in it (a test holds the two equal).
TEST_ACCOUNT_PATTERNS = {
    "test": "%test%",
    "demo": "%demo%",
    "internal_1": "%brius.com",
    "internal_2": "%mechanodontics.com",
}


def _rule(pattern: str) -> str:
    """A pattern as a sentence names it: '%demo%' is 'contains "demo"'."""
    if pattern.startswith("%") and pattern.endswith("%"):
        return f'contains "{pattern[1:-1]}"'
    return f'ends with "{pattern[1:]}"'


# The patterns and how a sentence names each (`<key>_rule`), for select_gate_offenders.sql.
TEST_ACCOUNT_RULES = {**TEST_ACCOUNT_PATTERNS,
                      **{f"{key}_rule": _rule(p) for key, p in TEST_ACCOUNT_PATTERNS.items()}}

# A source user's outcome of step 1.1: migrated, or the first rule that excludes it, in this
# order (docs/operating.md's): a user failing several rules gets the first of them, and a
# duplicate is only told among users no rule excludes. select_user_outcomes.sql binds them and
# its CASE follows this order (test_every_rule.py holds the two equal); accounting and explain
# read them back.
MIGRATED = "migrated"
EXCLUSION_REASONS = {
    "inactive": "inactive",
    "no_settings_or_office": "no settings and no office",
    "no_active_patients": "no active patients",
    "test_account": "test/demo/internal account",
    "duplicate_by_email": "duplicate by e-mail",
    "duplicate_by_name": "duplicate by name",
}
# Everything select_user_outcomes.sql binds besides the user id.
OUTCOME_PARAMETERS = {**TEST_ACCOUNT_PATTERNS, **EXCLUSION_REASONS, "migrated": MIGRATED}
