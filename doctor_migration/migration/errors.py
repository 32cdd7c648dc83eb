"""Errors the operator sees: one sentence, no traceback, no password."""

import getpass
import os


class MigrationError(Exception):
    """Something stopped the migration; the target was left as it was."""


class StopMigration(MigrationError):
    """A stop condition of the plan held: nothing was written."""


class DatabaseBusy(MigrationError):
    """Another session held a lock or a snapshot the tool waited for, longer than the lock
    timeout (or another run holds the target): nothing was changed; run again later."""

    def __init__(self, message: str, cause: str = "") -> None:
        super().__init__(message)
        self.cause = cause or message  # the clause naming the blocker, for other sentences


def os_user() -> str:
    """The OS user running the tool, for the ledger; `uid N` when the uid has no passwd entry
    (a container's arbitrary uid), where getpass.getuser() raises."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
