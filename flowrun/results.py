"""How a task's result is turned into bytes for the store and back.

Plain data (str, numbers, bools, None, lists and str-keyed dicts of them) is stored as
JSON so it stays readable with any SQLite client; anything else with pickle, falling
back to cloudpickle for what plain pickle refuses (lambdas, local classes).
"""
from __future__ import annotations

import json
import pickle
from typing import Any

JSON, PICKLE = "json", "pickle"
_SCALARS = (str, int, float, bool, type(None))


class UnpicklableResult(Exception):
    """The task returned something that cannot be stored."""


def _is_plain(value: Any, depth: int = 0) -> bool:
    if isinstance(value, _SCALARS):
        return type(value) in _SCALARS  # not subclasses such as IntEnum
    if depth > 20:
        return False
    if type(value) is list:
        return all(_is_plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _is_plain(v, depth + 1) for k, v in value.items())
    return False


def dumps(value: Any) -> tuple[bytes | None, str | None]:
    """Serialize a result; ``(None, None)`` for None, the common no-op case."""
    if value is None:
        return None, None
    if _is_plain(value):
        try:
            return json.dumps(value, allow_nan=True).encode(), JSON
        except ValueError:  # a circular list or dict
            pass
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), PICKLE
    except Exception:
        pass
    import cloudpickle  # only for what plain pickle refuses

    try:
        return cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), PICKLE
    except Exception as exc:
        raise UnpicklableResult(
            f"result of type {type(value).__module__}.{type(value).__qualname__} "
            f"cannot be stored: {exc}") from None


def loads(blob: bytes | None, fmt: str | None) -> Any:
    """Rebuild a result stored by ``dumps``."""
    if blob is None:
        return None
    if fmt == JSON:
        return json.loads(blob)
    return pickle.loads(blob)
