"""Every error flowrun raises on purpose, and pytest's exit codes.

Errors are raised where they are detected and turned into output only by the CLI and
the reporters, so each one carries a message a user can act on, and the exit code the
command ends with (as click's exceptions carry theirs).
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
    """A problem flowrun explains in one line; never shown with flowrun's traceback.

    ``exit_code`` is what the command exits with when this error ends it: 1 (the
    command could not do what was asked) unless a subclass says otherwise.
    """

    exit_code: ExitCode = ExitCode.TASKS_FAILED

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail  # printed above the one line: the user's traceback, say


class UsageError(FlowrunError):
    """The command line, the config or a plugin name is wrong (exit 4)."""

    exit_code = ExitCode.USAGE_ERROR


class ConfigError(UsageError):
    """A config file or a config key is wrong; the message names the file and the key."""


class PluginError(UsageError):
    """A plugin (``flowconf.py``, ``-p NAME``, an entry point) failed to load or broke a
    hook's contract; the message names the plugin and the hook."""


class CollectError(FlowrunError):
    """A flow file cannot become a flow. ``where`` names the file (and task).

    In a run it is reported like a failed pytest collection and other files still run
    (the run exits 1); a command that needs that one flow (``graph``, ``explain``)
    stops with exit 4.
    """

    exit_code = ExitCode.USAGE_ERROR

    def __init__(self, message: str, where: str = "", detail: str = "") -> None:
        super().__init__(message, detail)
        self.where = where


class CycleError(CollectError):
    """The tasks of a flow depend on each other in a circle."""


class StoreError(FlowrunError):
    """The store cannot be opened or written, or does not know what was asked for
    (no such run): exit 1, the command could not do its work."""


class ExecutorError(FlowrunError):
    """An executor cannot start (a Dask cluster that does not come up): exit 1.
    A wrong setting (no SSH hosts, an unknown alias) is a ``UsageError`` instead."""


class StopSignal(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived while flowrun was starting (raised by the
    command's own handler): an interrupt, never a plugin's or a flow's mistake, even
    when it lands inside their import."""


class Skipped(BaseException):
    """Raised by ``skip()``: a BaseException so ``except Exception`` cannot swallow it."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class ChildTaskError(Exception):
    """What ``future.result()`` raises when a submitted child did not succeed (or its
    outcome could not travel back to a parent on another host)."""


def redact_url(url: str) -> str:
    """``url`` as a message may show it: a password (``postgresql://u:PW@h/db``, or a
    ``password=`` query parameter) replaced by ``***``. Every message naming a store URL
    goes through here, so a password typed on the command line never reaches a log.

    The user part ends at the last ``@`` (a password with an unescaped ``/`` or ``@``
    is still hidden); a local path (``sqlite:////p``) is left as it is."""
    from urllib.parse import parse_qsl, urlencode

    text = str(url)
    scheme, sep, rest = text.partition("://")
    if sep and not rest.startswith("/"):
        userinfo, at, host = rest.rpartition("@")
        if at and ":" in userinfo:
            text = f"{scheme}{sep}{userinfo.partition(':')[0]}:***@{host}"
    head, _, tail = text.partition("?")
    query, hash_, fragment = tail.partition("#")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(key.lower() == "password" for key, _ in pairs):
        return text
    hidden = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs],
                       safe="*")
    return f"{head}?{hidden}{hash_}{fragment}"
