"""A typed place on the config where plugins share state (pytest's ``Stash``).

Plugins never read each other's option names: the plugin that owns a fact puts it
under a ``StashKey`` that both import from ``flowrun.plugin``.
"""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar, cast

from flowrun.errors import UsageError

T = TypeVar("T")


class StashKey(Generic[T]):
    """A key of a ``Stash``; its type parameter is the type of the value it holds."""

    __slots__ = ("name",)

    def __init__(self, name: str = "") -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<StashKey {self.name or hex(id(self))}>"


class Stash:
    """``stash[key] = value``, ``stash[key]``, ``stash.get(key, default)``, ``key in stash``."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[StashKey[Any], Any] = {}

    def __setitem__(self, key: StashKey[T], value: T) -> None:
        self._values[key] = value

    def __getitem__(self, key: StashKey[T]) -> T:
        return cast(T, self._values[key])

    def get(self, key: StashKey[T], default: T) -> T:
        return cast(T, self._values.get(key, default))

    def setdefault(self, key: StashKey[T], default: T) -> T:
        return cast(T, self._values.setdefault(key, default))

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __delitem__(self, key: StashKey[T]) -> None:
        del self._values[key]


#: Which option turns the selected flows into runs (``"--resume"``, ``"--due"``,
#: ``"--backfill"``...), set by the plugin that owns it in ``flowrun_configure``, so
#: another such plugin can refuse to be combined with it.
REQUEST_MODE: StashKey[str] = StashKey("request_mode")


def claim_request_mode(config: Any, mode: str) -> None:
    """Say that ``mode`` (an option such as ``--resume``) makes this session's runs;
    a second, different mode is a usage error naming both."""
    held = config.stash.get(REQUEST_MODE, None)
    if held is not None and held != mode:
        raise UsageError(f"{held} and {mode} cannot be combined")
    config.stash[REQUEST_MODE] = mode


#: ``(folder, threshold)``: where the store keeps results over ``threshold`` bytes as
#: content-addressed files (``flowrun.plugin.write_result_file``), set by a store that
#: has them, so an executor's workers write large results there themselves and only a
#: ``ResultFile`` crosses the pipe.
RESULT_FILES: StashKey[tuple[str, int]] = StashKey("result_files")
#: True while the terminal should hold the session header until a run begins (``--due``
#: prints nothing when nothing is due).
HOLD_HEADER: StashKey[bool] = StashKey("hold_header")
#: True in a watch-mode cycle: the terminal shows a compact screen.
COMPACT_REPORT: StashKey[bool] = StashKey("compact_report")
#: ``collect(args) -> session``: collect and select the flows under ``args`` (paths,
#: node ids; none: the configured flowpaths) as ``flowrun`` does; the session returned
#: holds them in ``flows`` and the collection errors in ``errors``. Set on every config
#: by the command line, so a plugin's command (``flowrun schedule``) collects flows
#: without standing on the session.
COLLECT: StashKey[Callable[[list[str]], Any]] = StashKey("collect")
#: Callables ``prepare(call, executor_name)`` the engine calls with each attempt's
#: ``Call`` just before its executor gets it, on the engine's side (tracing adds the
#: attempt's W3C trace context to ``call.around`` here). None of them: no cost per task.
CALL_PREPARERS: StashKey[list[Callable[[Any, str], None]]] = StashKey("call_preparers")
