"""[plugin] Capture of the tasks' output for a session's runs, as pytest's ``capture``:
registered in ``flowrun_configure``, it routes the process's streams and logging through
the per-attempt buffers (``flowrun.plugin.capture``) from the moment the runs are
planned until the session is torn down; ``-s`` prints the output as it comes instead.
"""
from __future__ import annotations

import logging
import os
from typing import Any

from flowrun.errors import UsageError
from flowrun.hookspecs import hookimpl
from flowrun.plugin import capture

PLUGIN_NAME = "capturemanager"


@hookimpl
def flowrun_configure(config: Any) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(CaptureManager(config), PLUGIN_NAME)


class CaptureManager:
    """Installs capture once, for the runs of one session, and undoes it at the end."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.restore_level: Any = None

    @hookimpl
    def flowrun_runs_planned(self) -> None:
        if self.restore_level is not None:
            return
        self.restore_level = _apply_log_level()
        capture.install(limit=self.config.max_output_size,
                        passthrough=bool(self.config.getoption("no_capture")))

    @hookimpl
    def flowrun_unconfigure(self) -> None:
        if self.restore_level is not None:
            self.restore_level()
            self.restore_level = None
            capture.uninstall()


def _apply_log_level() -> Any:
    """``FLOWRUN_LOG_LEVEL=DEBUG`` (or the simpleflow seed's ``LOG_LEVEL``) sets the root
    logger's level, which decides which records tasks' captured logs keep. Returns
    what puts the old level back."""
    root = logging.getLogger()
    previous = root.level
    level = os.environ.get("FLOWRUN_LOG_LEVEL") or os.environ.get("LOG_LEVEL")
    if level:
        try:
            root.setLevel(level.upper())
        except ValueError:
            raise UsageError(f"unknown log level {level!r} (DEBUG, INFO, WARNING, "
                             "ERROR, CRITICAL)") from None
    return lambda: root.setLevel(previous)
