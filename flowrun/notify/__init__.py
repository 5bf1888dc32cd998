"""Notifications (``flowrun.notify.plugin``). ``KEYS`` lives here so that declaring the
config tables, at every invocation, loads nothing else of the package."""
from __future__ import annotations

#: The keys of one ``[[tool.flowrun.notify]]`` table, as ``parser.addini(..., keys=...)``
#: declares them.
KEYS = {"to": "name", "command": "strings", "on": "strings", "flows": "text",
        "min_interval": "duration"}
