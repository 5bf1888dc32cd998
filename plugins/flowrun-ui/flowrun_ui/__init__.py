"""flowrun-ui: ``flowrun ui``, a web dashboard and REST API over flowrun's store.

Registered through the ``flowrun_commands`` hook; nothing here loads until the
command runs, so other ``flowrun`` commands pay nothing for it.
"""
from __future__ import annotations

from typing import Any

from flowrun.plugin import hookimpl


@hookimpl
def flowrun_commands() -> dict[str, tuple[str, Any]]:
    return {"ui": ("a web dashboard and REST API over the store",
                   "flowrun_ui.command:make_ui_command")}
