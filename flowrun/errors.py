"""Every error flowrun raises on purpose, and pytest's exit codes.

Errors are raised where they are detected and turned into output only by the CLI and
the reporters, so each one carries a message a user can act on.
"""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """pytest's exit codes: scripts and crontabs read them."""

    OK = 0
    TASKS_FAILED = 1
    INTERRUPTED = 2
    INTERNAL_ERROR = 3
    USAGE_ERROR = 4
    NO_FLOWS_COLLECTED = 5


class FlowrunError(Exception):
    """A problem flowrun explains in one line; never shown with flowrun's traceback."""


class UsageError(FlowrunError):
    """The command line, the config or a plugin name is wrong (exit 4)."""


class CollectError(FlowrunError):
    """A flow file cannot become a flow. ``where`` names the file (and task)."""

    def __init__(self, message: str, where: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.where = where
        self.detail = detail  # the user's traceback or a longer explanation


class CycleError(CollectError):
    """The tasks of a flow depend on each other in a circle."""


class StoreError(FlowrunError):
    """The store cannot be opened or does not know what was asked for."""


class Skipped(BaseException):
    """Raised by ``skip()``: a BaseException so ``except Exception`` cannot swallow it."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
