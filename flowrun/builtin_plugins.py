"""The built-in plugins, registered like any other but imported on first use.

Each built-in is declared with the hooks its module implements (and their
``@hookimpl`` options); what pluggy registers is a ``LazyPlugin`` holding one stand-in
per hook, and the first call of any of them imports the module. So ``flowrun history``
never imports an executor, and a thread-executor run never imports the process or SSH
executors nor the JUnit writer. ``tests/test_startup.py`` checks every declaration
against its module's real hooks.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from flowrun import hookspecs
from flowrun.hookspecs import hookimpl

TRYFIRST = {"tryfirst": True}
TRYLAST = {"trylast": True}
EXECUTOR = {"flowrun_make_executor": {}, "flowrun_executors": {}}
REPORTER = {"flowrun_addoption": {}, "flowrun_configure": {}}

#: (name for -p no:NAME, module, {hook: hookimpl options}). The order is pluggy's
#: precedence: of two plain hooks the last registered is asked first (so ``thread``
#: comes after the other executors), of two ``trylast`` ones the first (``python``
#: before ``specs``); the common answer then comes without importing the others.
BUILTINS: tuple[tuple[str, str, dict[str, dict[str, bool]]], ...] = (
    ("runner", "flowrun.executors.task_call", {"flowrun_task_call": TRYLAST}),
    ("commands", "flowrun.cli.commands", {"flowrun_commands": {}}),
    ("python", "flowrun.collect.python", {"flowrun_collect_file": TRYLAST}),
    ("specs", "flowrun.collect.specs", {"flowrun_task_types": {},
                                        "flowrun_collect_file": TRYLAST}),
    ("resume", "flowrun.resume", {"flowrun_addoption": {}, "flowrun_configure": TRYFIRST,
                                  "flowrun_make_requests": {}}),
    ("forcing", "flowrun.forcing", {"flowrun_addoption": {},
                                    "flowrun_collection_modifyitems": {}}),
    ("scheduling", "flowrun.schedules.due", {"flowrun_addoption": {}, "flowrun_commands": {},
                                             "flowrun_configure": {},
                                             "flowrun_check_flow": {}}),
    ("notify", "flowrun.notify.plugin", {"flowrun_addoption": {}, "flowrun_commands": {},
                                         "flowrun_configure": {}, "flowrun_check_flow": {}}),
    ("ssh", "flowrun.executors.ssh", {"flowrun_addoption": {}, **EXECUTOR}),
    ("process", "flowrun.executors.process", EXECUTOR),
    ("thread", "flowrun.executors.thread", EXECUTOR),
    ("sqlite", "flowrun.storage.sqlite", {"flowrun_make_storage": {}}),
    ("capture", "flowrun.capturing", {"flowrun_configure": {}}),
    ("debugging", "flowrun.debugging", {"flowrun_configure": {}}),
    ("terminal", "flowrun.reporters.terminal", {"flowrun_addoption": {},
                                                "flowrun_configure": TRYLAST}),
    ("junitxml", "flowrun.reporters.junitxml", REPORTER),
    ("json-report", "flowrun.reporters.json_report", REPORTER),
)


class LazyPlugin:
    """Stands for a built-in module until one of its hooks is called; ``__name__`` is
    the module's, as for a plugin registered as a module."""

    def __init__(self, module: str, hooks: dict[str, dict[str, bool]]) -> None:
        self.__name__ = module
        self._module: Any = None
        for hook, opts in hooks.items():
            setattr(self, hook, self._stand_in(hook, opts))

    def __dir__(self) -> list[str]:
        """Only the hooks: pluggy looks at every name ``dir`` gives, one by one."""
        return [name for name in vars(self) if name.startswith("flowrun_")]

    def load(self) -> Any:
        """The module itself (imported on the first call)."""
        if self._module is None:
            self._module = importlib.import_module(self.__name__)
        return self._module

    def _stand_in(self, hook: str, opts: dict[str, bool]) -> Callable[..., Any]:
        """A hook implementation taking every argument of the hook's spec (pluggy reads
        them through ``__wrapped__``), passing the module's function those it takes."""
        spec = getattr(hookspecs, hook)
        names = spec.__code__.co_varnames[:spec.__code__.co_argcount]
        target: list[Any] = []

        def call(*args: Any, **kwargs: Any) -> Any:
            if not target:
                function = getattr(self.load(), hook)
                code = function.__code__
                target[:] = [function, code.co_varnames[:code.co_argcount]]
            given = dict(zip(names, args), **kwargs)
            return target[0](**{name: given[name] for name in target[1]})

        call.__name__ = call.__qualname__ = hook
        call.__wrapped__ = spec  # type: ignore[attr-defined]
        return hookimpl(**opts)(call)


def register_builtins(pm: Any) -> None:
    """Register every built-in that ``-p no:NAME`` did not block."""
    for name, module, hooks in BUILTINS:
        if not pm.is_blocked(name):
            pm.register(LazyPlugin(module, hooks), name)
