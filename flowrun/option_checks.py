"""What a valid ``@task(...)`` and ``Flow(...)`` option is (API section 2), checked at
collection: a wrong type or value is a ``CollectError`` naming the file, the task and
the option, instead of a crash, a hang or an overflowing timer once the flow runs.
"""
from __future__ import annotations

import dataclasses
import inspect
import itertools
import math
import os
import re
import string
from typing import Any, Callable

from flowrun.config_keys import MAX_SECONDS
from flowrun.errors import CollectError
from flowrun.model import OVERRIDABLE_OPTIONS, RUN_IF, Flow, Task, TaskOptions

#: The most repeats ``each={...}`` may make, and slots a group may have.
MAX_REPEATS = 10_000
MAX_SLOTS = 1_000_000
#: Keywords ``Flow(...)`` takes besides task option defaults.
FLOW_KEYWORDS = ("schedule", "name", "tags", "limits", "fail_fast", "timezone", "catchup",
                 "overlap", "partitions", "after", "notify", "missed_after",
                 "expected_duration")
#: Keywords ``@task(...)`` takes, for the "did you mean" of an unknown one.
TASK_KEYWORDS = [f.name for f in dataclasses.fields(TaskOptions) if f.name != "unknown"]
Bad = Callable[[str, Any, str], CollectError]


def _number(value: Any, low: float, high: float, open_low: bool = False) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return (value > low if open_low else value >= low) and value <= high


def _names(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, str) and v for v in value)


def did_you_mean(name: str, candidates: list[str]) -> str:
    import difflib  # only a mistake pays for it

    close = difflib.get_close_matches(str(name), candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _name_ok(v: Any) -> bool:
    return v is None or isinstance(v, str) and bool(v.strip()) and "::" not in v \
        and "\n" not in v


#: option -> (is the value good?, what is expected): the declared rules of API section 2.
TASK_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "name": (_name_ok, "expected a non-empty string without '::' or newlines"),
    "retries": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10_000,
                "expected a whole number >= 0 (at most 10000)"),
    "retry_delay": (lambda v: _number(v, 0, MAX_SECONDS), "expected seconds >= 0 (at most "
                    "a year)"),
    "retry_backoff": (lambda v: _number(v, 0, 1000, open_low=True), "expected a multiplier "
                      "> 0 (at most 1000)"),
    "timeout": (lambda v: v is None or _number(v, 0, MAX_SECONDS, open_low=True),
                "expected seconds > 0 (at most a year)"),
    "run_if": (lambda v: isinstance(v, str) and v in RUN_IF, "expected one of "
               + ", ".join(RUN_IF)),
    "tags": (_names, "expected a name or a list of names (non-empty strings)"),
    "hosts": (_names, "expected a host alias or a list of them (non-empty strings)"),
    "limit": (_names, "expected a group name or a list of them (non-empty strings)"),
    "executor": (lambda v: v is None or isinstance(v, str) and bool(v.strip()),
                 "expected the name of an executor (thread, process, ssh, ...)"),
    "run_key": (lambda v: v is None or callable(v), "expected a callable returning a string"),
    "reads": (lambda v: _paths_ok(v), "expected a path, glob or directory relative to the "
              "rootdir, or a list of them"),
    "writes": (lambda v: _paths_ok(v), "expected a path, glob or directory relative to "
               "the rootdir, or a list of them"),
    "cache": (lambda v: v is None or cache_ok(v), 'expected True, False or an expiry such '
              'as "12h", "7d", "30m", "45s"'),
    "cache_version": (lambda v: v is None or isinstance(v, str) and bool(v),
                      'expected a non-empty string such as "2"'),
}

_EXPIRY = re.compile(r"[0-9]{1,6}[smhd]")


def cache_ok(value: Any) -> bool:
    """``cache=``: a bool, or an expiry like ``"12h"``."""
    return isinstance(value, bool) or isinstance(value, str) and bool(_EXPIRY.fullmatch(value))


def _paths_ok(value: Any) -> bool:
    """Relative paths that stay under the rootdir (``..`` parts and absolute ones do not)."""
    return isinstance(value, tuple) and all(
        isinstance(v, str) and v.strip() and not os.path.isabs(v)
        and ".." not in v.replace("\\", "/").split("/") for v in value)


def _check_templates(task: Task, bad: Bad) -> None:
    """Each ``{name}`` in a declared path names a flow parameter, an each item or the
    partition, so it can be filled in when the task starts."""
    each = task.options.each
    known = {*task.params, "partition", *(each if isinstance(each, dict) else ()),
             *([each] if isinstance(each, str) else ())}
    for option in ("reads", "writes"):
        for pattern in getattr(task.options, option):
            try:
                names = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
            except ValueError as exc:
                raise bad(option, pattern, f"bad {{template}}: {exc}") from None
            for name in sorted(names - known):
                raise bad(option, pattern, f"{{{name}}} names no flow parameter, each item "
                          f"or partition of the task{did_you_mean(name, sorted(known))}")


def check_task(flow: Flow, task: Task, known_limits: set[str]) -> None:
    """Raise ``CollectError`` for the first bad option of ``task``; fill ``static_each``."""
    opts = task.options
    where = f"{flow.id}::{task.name}"

    def bad(option: str, value: Any, expected: str) -> CollectError:
        return CollectError(f"{where}: bad option {option}={value!r}: {expected}", where=where)

    if opts.unknown:
        hint = did_you_mean(opts.unknown[0], TASK_KEYWORDS)
        raise CollectError(f"{where}: unknown @task option '{opts.unknown[0]}'{hint}",
                           where=where)
    for option, (good, expected) in TASK_RULES.items():
        value = getattr(opts, option)
        if not good(value):
            hint = did_you_mean(str(value), list(RUN_IF)) if option == "run_if" else ""
            raise bad(option, _unwrap(value), expected + hint)
    _check_longest_delay(opts, bad)
    if opts.reads or opts.writes:
        _check_templates(task, bad)
    for group in opts.limit:
        if group not in known_limits:
            known = ", ".join(sorted(known_limits)) or "none defined"
            raise bad("limit", group, f"no such concurrency group (defined: {known})"
                      f"{did_you_mean(group, sorted(known_limits))}; define it in "
                      "Flow(limits=...) or [tool.flowrun.limits]")
    task.static_each = _check_each(task, bad)
    task.data_aware = bool(opts.reads or opts.writes or opts.cache)


def _unwrap(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def _check_longest_delay(opts: Any, bad: Bad) -> None:
    """The last retry's delay (retry_delay * backoff ** (retries - 1)) must fit a timer."""
    if opts.retries < 1 or opts.retry_delay == 0:
        return
    try:
        longest = opts.retry_delay * opts.retry_backoff ** (opts.retries - 1)
    except OverflowError:
        longest = math.inf
    if longest > MAX_SECONDS:
        raise bad("retry_backoff", opts.retry_backoff, f"the last of {opts.retries} "
                  "retries would wait more than a year; lower retries or retry_backoff")


def _check_each(task: Task, bad: Bad) -> tuple[dict[str, Any], ...]:
    """Check ``each``; the repeats of ``each={param: [values]}`` (empty otherwise)."""
    each = task.options.each
    if each is None:
        return ()
    if isinstance(each, str):
        if each not in task.inputs:
            raise bad("each", each, "expected the name of a parameter that receives an "
                      "upstream task's result" + did_you_mean(each, list(task.inputs)))
        return ()
    if not isinstance(each, dict) or not each:
        raise bad("each", each, "expected a parameter name or {param: [values]}")
    names = list(inspect.signature(task.fn).parameters)
    for key, values in each.items():
        if not isinstance(key, str) or key not in names:
            raise bad("each", key, "expected a parameter of the function"
                      + did_you_mean(str(key), names))
        if not isinstance(values, (list, tuple, range)):
            raise bad("each", values, f"expected a list of values for '{key}'")
    if math.prod(len(v) for v in each.values()) > MAX_REPEATS:
        raise bad("each", "...", f"more than {MAX_REPEATS} repeats")
    keys = list(each)
    if len(keys) == 1:  # the usual each= of one name: half the cost of the product
        return tuple([{keys[0]: value} for value in each[keys[0]]])
    return tuple(dict(zip(keys, combo)) for combo in itertools.product(*each.values()))


def check_flow(flow: Flow) -> None:
    """Raise ``CollectError`` for a bad or unknown ``Flow(...)`` keyword."""
    def bad(option: str, value: Any, expected: str) -> CollectError:
        return CollectError(f"{flow.id}: bad Flow option {option}={value!r}: {expected}",
                            where=flow.id)

    for key in flow.task_defaults:
        if key not in OVERRIDABLE_OPTIONS:
            hint = did_you_mean(key, [*FLOW_KEYWORDS, *OVERRIDABLE_OPTIONS])
            raise CollectError(f"{flow.id}: unknown Flow option '{key}'{hint}", where=flow.id)
    if flow.name is not None and not isinstance(flow.name, str):
        raise bad("name", flow.name, "expected a string")
    if not _names(flow.tags):
        raise bad("tags", _unwrap(flow.tags), "expected a list of names")
    if not isinstance(flow.fail_fast, bool):
        raise bad("fail_fast", flow.fail_fast, "expected True or False")
    if flow.schedule is not None and not isinstance(flow.schedule, str):
        raise bad("schedule", flow.schedule, "expected a cron expression such as '0 6 * * *'")
    if flow.timezone is not None and not isinstance(flow.timezone, str):
        raise bad("timezone", flow.timezone, "expected an IANA name such as 'Europe/Paris'")
    after = flow.after  # Flow(after="x") is ("x",)
    if not all(isinstance(a, str) and a for a in after):
        raise bad("after", list(after), "expected a list of flow ids or paths")
    _check_limits(flow.limits, bad)


def _check_limits(limits: Any, bad: Bad) -> None:
    if not isinstance(limits, dict):
        raise bad("limits", limits, "expected {name: slots}")
    for name, slots in limits.items():
        if not isinstance(name, str) or not isinstance(slots, int) \
                or isinstance(slots, bool) or not 1 <= slots <= MAX_SLOTS:
            raise bad("limits", {name: slots}, "expected a name and a whole number of "
                      "slots >= 1")
