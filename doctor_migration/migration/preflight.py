"""Before anything else: can this role on this database do what the run will do?

check_target and check_source only read the catalog. Each raises one MigrationError that names
every problem it found with the exact fix (the missing GRANT, the missing column, the enum
value), so a run never gets as far as a half-explained failure in the middle of the load, and
row level security never silently hides rows from the migration.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import psycopg

from doctor_migration.migration import locks
from doctor_migration.migration.db import load_sql
from doctor_migration.migration.errors import MigrationError
from doctor_migration.migration.ledger import ledger_problem
from doctor_migration.migration.mapping import MAPPED_COLUMNS
from doctor_migration.migration.target import (
    STAGE_REGISTRY,
    STAGE_TABLES,
    TOOL_TABLES,
    extra_grants,
)
from doctor_migration.names import LOCK_TIMEOUT, SUPABASE_PLATFORM_ROLES


@dataclass(frozen=True)
class ColumnType:
    """What a column must be to hold what the migration puts in it."""

    description: str
    type_names: frozenset[str] = frozenset()  # pg_type.typname of the (base) type
    categories: frozenset[str] = frozenset()  # pg_type.typcategory
    enum_label: str | None = None  # an enum type qualifies if it has this label
    any_type: bool = False

    def accepts(self, column: Column) -> bool:
        if self.any_type:
            return True
        if self.enum_label is not None and column.type_kind == "e":
            return self.enum_label in column.enum_labels
        return column.base_type in self.type_names or column.type_category in self.categories


ANY = ColumnType("anything", any_type=True)
INTEGER = ColumnType("an integer type", frozenset({"int4", "int8", "numeric"}))
NUMBER = ColumnType("a number", categories=frozenset({"N"}))
TEXT = ColumnType("text", categories=frozenset({"S"}))
JSONB = ColumnType("jsonb", frozenset({"jsonb", "json"}))
UUID = ColumnType("uuid", frozenset({"uuid"}))
BOOLEAN = ColumnType("boolean", frozenset({"bool"}))
DATE = ColumnType("a date", frozenset({"date", "timestamp", "timestamptz"}))
TIMESTAMP = ColumnType("a timestamp", frozenset({"timestamptz", "timestamp"}))


def text_or_enum_with(label: str) -> ColumnType:
    return ColumnType(f"text or an enum with the value '{label}'", categories=frozenset({"S"}),
                      enum_label=label)


# Every column of public.doctors the load writes or relies on (step 2.2's mapping, the id
# the ledger records, updated_at that the load sets).
DOCTOR_COLUMNS: dict[str, ColumnType] = {
    "id": UUID,
    "legacy_user_id": INTEGER,
    "profile_id": UUID,
    "doctor_id": INTEGER,
    "doctor_number": TEXT,
    "license_number": TEXT,
    "npi_number": TEXT,
    "specialty": TEXT,
    "board_certifications": JSONB,
    "education": JSONB,
    "years_experience": NUMBER,
    "primary_office_id": ANY,  # always NULL
    "practice_type": TEXT,
    "status": text_or_enum_with("active"),
    "is_accepting_patients": BOOLEAN,
    "max_patient_load": NUMBER,
    "bio": TEXT,
    "specialties": JSONB,
    "languages_spoken": JSONB,
    "professional_memberships": JSONB,
    "consultation_duration_minutes": NUMBER,
    "follow_up_duration_minutes": NUMBER,
    "working_hours": JSONB,
    "consultation_fee": NUMBER,
    "accepts_insurance": BOOLEAN,
    "payment_terms": JSONB,
    "licensed_since": DATE,
    "joined_practice_at": TIMESTAMP,
    "legacy_doctor_id": INTEGER,
    "migration_metadata": JSONB,
    "updated_at": TIMESTAMP,
}

# Phase 1's profiles, as select_doctor_profiles.sql reads them.
PROFILE_COLUMNS: dict[str, ColumnType] = {
    "id": UUID,
    "legacy_user_id": INTEGER,
    "first_name": TEXT,
    "last_name": TEXT,
    "email": TEXT,
    "profile_type": text_or_enum_with("doctor"),
}

# Who skips row level security on Supabase without being a superuser.
SUPABASE_BYPASS = "a role with BYPASSRLS (on Supabase: postgres)"

# Privileges the load and the rollback use, per table.
TARGET_TABLES = {"public.doctors": "SELECT,INSERT,UPDATE,DELETE", "public.profiles": "SELECT"}
# The locks the preflight's catalog reads may take (pg_get_expr opens a policy's table).
TARGET_CATALOG_LOCKS = dict.fromkeys(TARGET_TABLES, "AccessShareLock")
LEDGER_TABLES = {"doctor_migration.runs": "SELECT,INSERT,UPDATE",
                 "doctor_migration.row_changes": "SELECT,INSERT,UPDATE"}
# Added by a later version: needed once it exists (the load creates it otherwise).
LEDGER_ADDITION = {"doctor_migration.run_digests": "SELECT,INSERT"}
# The stage (once an earlier command made it): the tool's workspace, read and rewritten.
STAGE_PRIVILEGES = {f"doctor_migration.{name}": "SELECT,INSERT,UPDATE,DELETE"
                    for name in (STAGE_REGISTRY, *STAGE_TABLES)}

# The source tables and columns step 1.1 reads (and the per-user accounting of its rules).
SOURCE_COLUMNS: dict[str, list[str]] = {
    "auth_user": ["id", "first_name", "last_name", "email", "username", "is_active",
                  "date_joined", "last_login"],
    "dispatch_usersetting": ["user_id"],
    "dispatch_office_doctors": ["user_id"],
    "dispatch_patient": ["doctor_id", "archived"],
}
SOURCE_CATALOG_LOCKS = dict.fromkeys(SOURCE_COLUMNS, "AccessShareLock")


@dataclass(frozen=True)
class Role:
    """The connected role and database, quoted as identifiers for GRANT statements."""

    name: str
    database: str
    is_superuser: bool
    bypasses_rls: bool
    ledger_schema_exists: bool
    may_create_ledger: bool
    may_create_temp: bool
    is_replica: bool
    read_only_by_default: bool
    ledger_exists: bool


@dataclass(frozen=True)
class Table:
    """One needed table as the role sees it."""

    name: str
    oid: int | None
    schema: str | None
    schema_usage: bool | None
    needed_privileges: list[str]
    missing_privileges: list[str]
    rls_enabled: bool | None
    rls_forced: bool | None
    owns: bool | None
    # Needed commands that no permissive policy of the role allows on every row (USING (true),
    # WITH CHECK (true)), and the restrictive policies that apply to the role.
    commands_without_policy: list[str]
    restrictive_policies: list[str]
    columns: list[str]  # the columns the privileges are needed on (quoted); [] for all

    @property
    def exists(self) -> bool:
        return self.oid is not None

    @property
    def qualified(self) -> str:
        return self.name if "." in self.name or not self.schema else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Column:
    """One column of a table, its type resolved through domains."""

    name: str
    declared_type: str
    base_type: str
    type_kind: str
    type_category: str
    enum_labels: list[str]
    not_null: bool
    has_default: bool
    generated: bool
    selectable: bool


def _role(conn: psycopg.Connection) -> Role:
    return Role(*conn.execute(load_sql("preflight_select_role")).fetchone())


def _tables(conn: psycopg.Connection, privileges: dict[str, str],
            columns: dict[str, list[str]] | None = None) -> list[Table]:
    """Each table of `privileges` (name: 'SELECT,INSERT,...'), needed on the whole table or
    on the `columns` given for it."""
    rows = conn.execute(load_sql("preflight_select_tables"), {
        "tables": list(privileges), "privileges": list(privileges.values()),
        "columns": [",".join((columns or {}).get(name, [])) for name in privileges],
    }).fetchall()
    return [Table(*row) for row in rows]


def _referencing_tables(conn: psycopg.Connection) -> dict[str, list[str]]:
    """The tables whose foreign keys reference public.doctors, with those keys' columns."""
    found: dict[str, list[str]] = {}
    for _, schema, table, columns, _ in conn.execute(load_sql("select_doctor_foreign_keys")):
        known = found.setdefault(f"{schema}.{table}", [])
        known += [c for c in columns if c not in known]
    return found


def _columns(conn: psycopg.Connection, table: Table) -> dict[str, Column]:
    rows = conn.execute(load_sql("preflight_select_columns"), {"table_oid": table.oid}).fetchall()
    return {row[0]: Column(*row) for row in rows}


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _table_problems(table: Table, role: Role, bypass: str = "a role with BYPASSRLS") -> list[str]:
    """Missing privileges, and row level security that could hide rows from the role.

    Only a superuser may grant BYPASSRLS, and no Supabase customer is one, so the fixes are
    what the table's owner (Supabase's postgres) can do: connect as a role that skips row
    level security, or add a policy that provably shows every row."""
    problems = []
    if not table.schema_usage:
        problems.append(f"role {role.name} may not use schema {table.schema}: "
                        f"GRANT USAGE ON SCHEMA {table.schema} TO {role.name}")
    if table.missing_privileges and table.columns:
        columns = ", ".join(table.columns)
        problems.append(
            f"role {role.name} may not {_and(table.missing_privileges)} {table.qualified} "
            f"({columns}), whose rows reference doctors rows the tool may delete: "
            f"GRANT {', '.join(table.missing_privileges)} ({columns}) ON {table.qualified} "
            f"TO {role.name}")
    elif table.missing_privileges:
        problems.append(
            f"role {role.name} may not {_and(table.missing_privileges)} {table.qualified}: "
            f"GRANT {', '.join(table.missing_privileges)} ON {table.qualified} TO {role.name}")
    skips_rls = role.is_superuser or role.bypasses_rls or (table.owns and not table.rls_forced)
    if not table.rls_enabled or skips_rls:
        return problems
    hides = f"row level security may hide rows of {table.qualified} from role {role.name}"
    why = ("it is forced, even for the owner" if table.owns
           else f"it is enabled, {role.name} neither owns the table nor has BYPASSRLS")
    escape = f"connect as {bypass}" + ("" if table.owns else " or as the table's owner")
    if table.commands_without_policy:
        reads_only = table.needed_privileges == ["SELECT"]
        expression = "USING (true)" if reads_only else "USING (true) WITH CHECK (true)"
        policy = (f"CREATE POLICY doctor_migration_{'read' if reads_only else 'all'} ON "
                  f"{table.qualified} FOR {'SELECT' if reads_only else 'ALL'} TO {role.name} "
                  f"{expression}")
        problems.append(
            f"{hides} ({why}, and no policy for it or PUBLIC that is {expression} lets it "
            f"{_and(table.commands_without_policy)} every row): {escape}, or, as the table's "
            f"owner, run {policy}")
    if table.restrictive_policies:
        named = ", ".join(table.restrictive_policies)
        one = len(table.restrictive_policies) == 1
        these = "policy" if one else "policies"
        problems.append(
            f"{hides} ({why}, and the restrictive {these} {named} "
            f"{'applies' if one else 'apply'} to it): "
            f"{escape}, or, as the table's owner, make {these} {named} not apply to "
            f"{role.name}")
    return problems


def _column_problems(table: str, columns: dict[str, Column],
                     needed: dict[str, ColumnType], writes: bool) -> list[str]:
    problems = []
    for name, wanted in needed.items():
        column = columns.get(name)
        if column is None:
            problems.append(f"{table} has no column {name}")
        elif not wanted.accepts(column):
            if wanted.enum_label is not None and column.type_kind == "e":
                problems.append(f"{table}.{name} is {column.declared_type}, which has no value "
                                f"'{wanted.enum_label}' (ALTER TYPE {column.declared_type} "
                                f"ADD VALUE '{wanted.enum_label}')")
            else:
                problems.append(f"{table}.{name} is {column.declared_type}, "
                                f"not {wanted.description}")
        elif writes and column.generated and name in MAPPED_COLUMNS:
            problems.append(f"{table}.{name} is a generated column, but the migration writes it")
    if writes:
        for column in columns.values():
            if (column.name not in needed and column.not_null and not column.has_default
                    and not column.generated):
                problems.append(f"{table}.{column.name} is NOT NULL without a default, and the "
                                "migration does not set it")
    return problems


def _raise(where: str, problems: list[str]) -> None:
    if problems:
        raise MigrationError(f"the {where} is not ready for the migration, nothing was changed: "
                             + "; ".join(dict.fromkeys(problems)))


def _ledger_problem(role: Role) -> str:
    """Why the role cannot make the run ledger, and what the database's owner (Supabase's
    postgres) can do about it."""
    if role.ledger_schema_exists:
        return (f"role {role.name} may not create the tool's tables (the run ledger, the "
                "stage) in schema doctor_migration: as the schema's owner, run GRANT USAGE, "
                f"CREATE ON SCHEMA doctor_migration TO {role.name}")
    grant = f"GRANT CREATE ON DATABASE {role.database} TO {role.name}"
    if role.name == "postgres":
        return (f"role {role.name} may not create the run ledger (schema doctor_migration, "
                f"made on the first run): {grant}")
    # Less than CREATE on the database: the role owns the one schema the tool needs.
    return (f"role {role.name} may not create the run ledger (schema doctor_migration, made on "
            f"the first run): as postgres, run GRANT {role.name} TO postgres, then CREATE "
            f"SCHEMA doctor_migration AUTHORIZATION {role.name} (as "
            f"sql/create_doctor_migrator.sql does), or {grant}")


def _reader(name: str, is_superuser: bool, reads_all_data: bool, owners: list[str]) -> str:
    if is_superuser:
        return f"{name} (superuser)"
    if reads_all_data:
        return f"{name} (member of pg_read_all_data)"
    if name in owners:
        return f"{name} (owner of the tool's tables)"
    return f"{name} (member of {' and '.join(owners)}, owner of the tool's tables)"


def _grant_warnings(conn: psycopg.Connection, role: Role) -> list[str]:
    """What grants cannot keep from the tool's tables: the roles that read them whatever their
    grants say, and the grants that the tool's role, not owning the table, may not revoke.
    Roles only: never a row."""
    warnings = []
    readers = [_reader(*row) for row in conn.execute(load_sql("preflight_select_readers"), {
        "tables": list(TOOL_TABLES), "platform_roles": SUPABASE_PLATFORM_ROLES})]
    if readers:
        warnings.append("roles that may read the stage (names and e-mails) and the run ledger "
                        "whatever the grants on them: " + ", ".join(readers))
    for table, owner, may_revoke, _, who in extra_grants(conn):
        if not may_revoke:
            warnings.append(
                f"role {role.name} may not revoke the grants of {who} on "
                f"doctor_migration.{table} (only its owner may): as {owner}, run REVOKE ALL ON "
                f"doctor_migration.{table} FROM {who} CASCADE")
    return warnings


def check_target(conn: psycopg.Connection, lock_timeout: str = LOCK_TIMEOUT) -> list[str]:
    """Raise MigrationError naming every grant, table, column or policy the run would lack on
    the target: doctors and profiles readable (and doctors writable) by this role, with no row
    hidden by row level security; the columns the mapping writes, of a type that holds them;
    the run ledger creatable or usable; temporary tables allowed. Return the warnings that do
    not stop the run (_grant_warnings). Only reads the catalog."""
    # Deparsing a policy opens its table: a lock on it must not hang the preflight.
    with locks.bounded_transaction(conn, "target", TARGET_CATALOG_LOCKS, lock_timeout):
        role = _role(conn)
        foreign_ledger = ledger_problem(conn)
        needed = dict(TARGET_TABLES, **(LEDGER_TABLES if role.ledger_exists else {}))
        made = {f"doctor_migration.{r[0]}" for r in conn.execute(
            load_sql("select_stage_tables"),
            {"tables": [STAGE_REGISTRY, *STAGE_TABLES, "run_digests"]})}
        needed.update({name: privileges for name, privileges
                       in {**STAGE_PRIVILEGES, **LEDGER_ADDITION}.items() if name in made})
        tables = _tables(conn, needed)
        problems = [foreign_ledger] if foreign_ledger else []
        for table in tables:
            if not table.exists:
                problems.append(f"the target has no table {table.name}")
            else:
                problems += _table_problems(table, role, SUPABASE_BYPASS)
        present = {t.name: t for t in tables if t.exists}
        if "public.doctors" in present:
            # Before deleting a doctors row (a load, a rollback) the tool counts the rows that
            # reference it: a row hidden from it could be deleted by ON DELETE CASCADE unseen.
            referencing = _referencing_tables(conn)
            for table in _tables(conn, dict.fromkeys(referencing, "SELECT"), referencing):
                problems += _table_problems(table, role, SUPABASE_BYPASS)
            problems += _column_problems("public.doctors",
                                         _columns(conn, present["public.doctors"]),
                                         DOCTOR_COLUMNS, writes=True)
        if "public.profiles" in present:
            problems += _column_problems("public.profiles",
                                         _columns(conn, present["public.profiles"]),
                                         PROFILE_COLUMNS, writes=False)
        warnings = _grant_warnings(conn, role)
    if role.is_replica:
        problems.append("the target is a read-only replica (in recovery): point "
                        "SUPABASE_DATABASE_URL at the primary")
    elif role.read_only_by_default:
        # A session that is read-only by default cannot run ALTER ROLE either, until it says
        # otherwise for itself.
        problems.append(
            f"transactions of role {role.name} on {role.database} are read-only by default "
            "(default_transaction_read_only is on; Supabase turns it on when the disk is 95% "
            "full, and off once there is room again): make room, or, in one session, run SET "
            f"default_transaction_read_only = off, then ALTER ROLE {role.name} IN DATABASE "
            f"{role.database} SET default_transaction_read_only = off")
    # The ledger, or a stage table, still to be made: the first run (or the first command of
    # this version) makes them in schema doctor_migration.
    tables_to_make = not role.ledger_exists or len(made) < 2 + len(STAGE_TABLES)
    if tables_to_make and not role.may_create_ledger and not foreign_ledger:
        problems.append(_ledger_problem(role))
    if not role.may_create_temp:
        problems.append(f"role {role.name} may not create the load's temporary tables: "
                        f"GRANT TEMPORARY ON DATABASE {role.database} TO {role.name}")
    _raise("target", problems)
    return warnings


def check_source(conn: psycopg.Connection, lock_timeout: str = LOCK_TIMEOUT) -> None:
    """Raise MigrationError naming every table, column or grant step 1.1 would lack on the
    source: auth_user, dispatch_usersetting, dispatch_office_doctors and dispatch_patient, with
    the columns the plan's query reads, readable by this role. Only reads the catalog."""
    with locks.bounded_transaction(conn, "source", SOURCE_CATALOG_LOCKS, lock_timeout):
        role = _role(conn)
        tables = _tables(conn, {name: "SELECT" for name in SOURCE_COLUMNS})
        problems = []
        for table in tables:
            if not table.exists:
                problems.append(f"the source has no table {table.name} in the search_path of "
                                f"role {role.name} (step 1.1 of the plan reads it)")
                continue
            columns = _columns(conn, table)
            missing = [c for c in SOURCE_COLUMNS[table.name] if c not in columns]
            if missing:
                problems.append(f"the source table {table.qualified} has no column "
                                f"{_and(missing)} (step 1.1 of the plan reads it)")
            readable = all(c in columns and columns[c].selectable
                           for c in SOURCE_COLUMNS[table.name])
            if readable and table.missing_privileges:  # column grants are enough
                table = replace(table, missing_privileges=[])
            problems += _table_problems(table, role)
    _raise("source", problems)


def estimated_rows(conn: psycopg.Connection) -> dict[str, int | None]:
    """The catalog's estimate of the rows of each source table step 1.1 reads
    (pg_class.reltuples); None where it has none (a table never vacuumed or analyzed). Only
    reads the catalog."""
    with conn.transaction():
        rows = conn.execute(load_sql("select_row_estimates"),
                            {"tables": list(SOURCE_COLUMNS)}).fetchall()
    return {name: None if estimate is None or estimate < 0 else int(estimate)
            for name, estimate in rows}
