"""[plugin] The built-in ``flowrun_task_call``: calls the task's function.

Wrappers registered by other plugins (``@hookimpl(wrapper=True)``) run around it.
"""
from __future__ import annotations

from typing import Any

from flowrun.plugin import hookimpl


@hookimpl(trylast=True)
def flowrun_task_call(call: Any) -> Any:
    return call.invoke()
