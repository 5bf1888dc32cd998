"""``--param NAME=VALUE``: the text given on the command line, checked against the
selected flows' parameters and converted to the type of each parameter's default."""
from __future__ import annotations

import json
from typing import Any

from flowrun.errors import UsageError
from flowrun.model import Flow


def check_known(given: dict[str, str], flows: list[Flow]) -> None:
    known = {name for flow in flows for name in flow.params}
    unknown = sorted(set(given) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise UsageError(f"unknown flow parameter '{unknown[0]}' (the selected flows "
                         f"take: {takes})")


def split_param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--param takes NAME=VALUE, not {text!r}")
    return name.strip(), value


def convert(text: str, default: Any, name: str) -> Any:
    """Turn ``--param`` text into the type of the parameter's default."""
    kind = type(default)
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind in (int, float):
            return kind(text)
        if kind in (list, dict, tuple):
            value = json.loads(text)
            if not isinstance(value, (list if kind is tuple else kind)):
                raise ValueError(text)
            return kind(value)
    except ValueError:
        raise UsageError(f"--param {name}={text!r}: expected {_KIND_WORDS[kind]}, like "
                         f"the default {default!r}") from None
    return text


_KIND_WORDS = {int: "an int (a whole number)", float: "a float (a number)",
               bool: "a bool (true/false, yes/no, on/off or 1/0)",
               list: "a list written as JSON, e.g. '[1, 2]'",
               tuple: "a list written as JSON, e.g. '[1, 2]'",
               dict: "a dict written as JSON, e.g. '{\"a\": 1}'"}
