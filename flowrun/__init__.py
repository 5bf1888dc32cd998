"""flowrun: pytest, for workflows.

Only the public API lives here; it is loaded on first use so that ``flowrun
--version`` and flow imports stay fast.
"""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Flow", "task", "skip", "submit", "run_flow", "hookimpl", "Context", "__version__"]

_LAZY = {
    "Flow": "flowrun.model",
    "task": "flowrun.api",
    "skip": "flowrun.api",
    "submit": "flowrun.api",
    "run_flow": "flowrun.api",
    "hookimpl": "flowrun.hookspecs",
    "Context": "flowrun.context",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowrun' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
