"""Errors the operator sees: one sentence, no traceback, no password."""


class MigrationError(Exception):
    """Something stopped the migration; the target was left as it was."""


class StopMigration(MigrationError):
    """A stop condition of the plan held: nothing was written."""
