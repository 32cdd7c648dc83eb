"""Errors the operator sees: one sentence, no traceback, no password."""

import getpass
import os


class MigrationError(Exception):
    """Something stopped the migration; the target was left as it was."""


class StopMigration(MigrationError):
    """A stop condition of the plan held: nothing was written."""


def os_user() -> str:
    """The OS user running the tool, for the ledger; `uid N` when the uid has no passwd entry
    (a container's arbitrary uid), where getpass.getuser() raises."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
