"""From a collected flow to a checked graph: parameters become edges, options are
validated, cycles are found, and ``-k`` / ``-m`` / node ids select tasks. Pure: no I/O.
"""
from __future__ import annotations

import inspect
from collections import deque
from typing import Any, Iterable

from flowrun import option_checks
from flowrun.errors import CollectError, CycleError, UsageError
from flowrun.model import CONTEXT_PARAM, Flow, Task, TaskDef

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_FUNCTION = type(lambda: None)


def resolve(flow: Flow, limits: Iterable[str] = ()) -> None:
    """Fill in each task's inputs, flow parameters and upstream; check every option.

    Raises ``CollectError`` naming the file, the task and what is wrong.
    """
    option_checks.check_flow(flow)
    known_limits = set(limits) | set(flow.limits)
    for task in flow.tasks.values():
        _resolve_parameters(flow, task)
        _check_options(flow, task, known_limits)
    _file_edges(flow)
    order(flow)  # raises CycleError; options plugins own: flowrun_check_flow


def parameters(fn: Any) -> list[tuple[str, Any]]:
    """``(name, default)`` of each named parameter of ``fn`` (``inspect.Parameter.empty``
    when it has none), ``*args`` and ``**kwargs`` left out. A plain function's come from
    its code object: ``inspect.signature`` costs more than the rest of resolving a task."""
    code = getattr(fn, "__code__", None)
    if type(fn) is not _FUNCTION or code is None or hasattr(fn, "__wrapped__") \
            or hasattr(fn, "__signature__"):
        return [(name, p.default) for name, p in inspect.signature(fn).parameters.items()
                if p.kind not in _VARIADIC]
    positional = code.co_varnames[:code.co_argcount]
    defaults = fn.__defaults__ or ()
    empty = inspect.Parameter.empty
    found = [(name, empty) for name in positional[:len(positional) - len(defaults)]]
    found += zip(positional[len(positional) - len(defaults):], defaults)
    kwdefaults = fn.__kwdefaults__ or {}
    keyword = code.co_varnames[code.co_argcount:code.co_argcount + code.co_kwonlyargcount]
    return found + [(name, kwdefaults.get(name, empty)) for name in keyword]


def _parameters_of(flow: Flow, task: Task) -> list[tuple[str, Any]]:
    """``parameters`` of the task, or a collection error when its callable lies about
    its signature (a ``__signature__`` that is no ``inspect.Signature``, one that
    raises)."""
    try:
        return parameters(task.fn)
    except Exception as exc:  # noqa: BLE001 - whatever the user's object raises
        where = f"{flow.id}::{task.name}"
        raise CollectError(f"{where}: cannot read the task's parameters "
                           f"({type(exc).__name__}: {exc}); give the function a real "
                           "signature (__signature__ must be an inspect.Signature)",
                           where=where) from None


def _resolve_parameters(flow: Flow, task: Task) -> None:
    each = task.options.each
    static = set(each) if isinstance(each, dict) else set()
    for name, default in _parameters_of(flow, task):
        if name == CONTEXT_PARAM:
            task.wants_context = True
        elif name == "partition":  # the run's partition key (flowrun.schedules.cron)
            task.wants_partition = True
        elif name in flow.tasks and name != task.name:
            task.inputs[name] = name
        elif name in static:
            continue
        elif default is not inspect.Parameter.empty:
            task.params[name] = default
        else:
            hint = option_checks.did_you_mean(name, [t for t in flow.tasks if t != task.name])
            raise CollectError(
                f"{flow.id}::{task.name}: parameter '{name}' names no task of the flow "
                f"and has no default{hint}", where=f"{flow.id}::{task.name}")
    after = []
    for item in task.options.after:
        name = item.name if isinstance(item, TaskDef) else item
        if not isinstance(name, str) or name not in flow.tasks:
            label = name if isinstance(name, str) else repr(item)
            hint = option_checks.did_you_mean(str(label), list(flow.tasks))
            raise CollectError(f"{flow.id}::{task.name}: after= names {label!r}, which is not "
                               f"a task of the flow{hint}", where=f"{flow.id}::{task.name}")
        after.append(name)
    task.upstream = tuple(dict.fromkeys([*task.inputs.values(), *after]))


def _file_edges(flow: Flow) -> None:
    """A task that reads a path another task of the flow writes runs after it (API
    section 10): an edge without data, as ``after=`` makes. Plain paths are looked up
    by path and by folder (linear in paths); globs are compared pair by pair."""
    exact: dict[str, list[str]] = {}    # a written path or a folder above it -> writers
    globbed: list[tuple[str, str]] = []  # (written glob, writer)
    for t in flow.tasks.values():
        for shape in map(_shape, t.options.writes):
            if _magic(shape):
                globbed.append((shape, t.name))
                continue
            exact.setdefault(shape, []).append(t.name)
            parts = shape.split("/")
            for i in range(1, len(parts)):
                exact.setdefault("/".join(parts[:i]) + "/", []).append(t.name)
    if not exact and not globbed:
        return
    for task in flow.tasks.values():
        found: list[str] = []
        for read in map(_shape, task.options.reads):
            found += _writers_of(read, exact, globbed)
        found = [name for name in dict.fromkeys(found) if name != task.name]
        if found:
            task.upstream = tuple(dict.fromkeys([*task.upstream, *found]))
            task.file_upstream = tuple(found)


def _writers_of(read: str, exact: dict[str, list[str]], globbed: list[tuple[str, str]]
                ) -> list[str]:
    found = [name for shape, name in globbed if _overlap(read, shape)]
    if _magic(read):
        return found + [n for shape, names in exact.items() if not shape.endswith("/")
                        and _overlap(read, shape) for n in names]
    found += exact.get(read, []) + exact.get(read + "/", [])  # the file, or files under it
    parts = read.split("/")
    for i in range(1, len(parts)):  # a folder written whole, holding the read
        found += [n for n in exact.get("/".join(parts[:i]), [])]
    return found


def _magic(path: str) -> bool:
    return any(c in path for c in "*?[")


def _shape(pattern: str) -> str:
    """A declared path with each ``{template}`` as a wildcard, without a trailing '/'."""
    import re

    return re.sub(r"\{[^{}]*\}", "*", pattern).replace("\\", "/").rstrip("/") or "."


def _overlap(a: str, b: str) -> bool:
    """Could the two declared paths name a common file (equal, glob match, or one a
    directory holding the other)?"""
    from fnmatch import fnmatchcase

    return a == b or fnmatchcase(a, b) or fnmatchcase(b, a) or \
        b.startswith(a + "/") or a.startswith(b + "/") or \
        fnmatchcase(b, a + "/*") or fnmatchcase(a, b + "/*")


def _check_options(flow: Flow, task: Task, known_limits: set[str]) -> None:
    """Every option, by the table in ``flowrun.option_checks`` (fills ``static_each``)."""
    option_checks.check_task(flow, task, known_limits)


def order(flow: Flow) -> list[str]:
    """Task names in an order where upstream comes first; raise ``CycleError``.

    Kahn's algorithm, linear in tasks plus edges. Stable: tasks without upstream come in
    definition order, then each task as soon as its last upstream is placed (ties in
    the order they became ready).
    """
    indegree = {name: len(t.upstream) for name, t in flow.tasks.items()}
    downstream: dict[str, list[str]] = {name: [] for name in flow.tasks}
    for name, t in flow.tasks.items():
        for up in t.upstream:
            downstream[up].append(name)
    ready = deque(name for name, n in indegree.items() if n == 0)
    result: list[str] = []
    while ready:
        name = ready.popleft()
        result.append(name)
        for down in downstream[name]:
            indegree[down] -= 1
            if indegree[down] == 0:
                ready.append(down)
    if len(result) < len(flow.tasks):
        cycle = _find_cycle(flow, {n for n, d in indegree.items() if d > 0})
        raise CycleError(f"{flow.id}: dependency cycle {' -> '.join(cycle)}", where=flow.id)
    return result


def _find_cycle(flow: Flow, suspects: set[str]) -> list[str]:
    """Walk upstream edges inside ``suspects`` until a task repeats: that loop is a cycle."""
    start = next(name for name in flow.tasks if name in suspects)
    path: list[str] = []
    seen: dict[str, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(up for up in flow.tasks[node].upstream if up in suspects)
    loop = path[seen[node]:] + [node]
    return list(reversed(loop))  # upstream first: a -> b means b depends on a


# -- selection ---------------------------------------------------------------------------

def upstream_closure(flow: Flow, names: Iterable[str]) -> set[str]:
    """``names`` plus everything they need to run."""
    wanted: set[str] = set()
    stack = list(names)
    while stack:
        name = stack.pop()
        if name not in wanted:
            wanted.add(name)
            stack.extend(flow.tasks[name].upstream)
    return wanted


def _predicate(expression: str | None) -> Any:
    """A compiled ``-k`` / ``-m`` expression (its parser loads only then), or None."""
    if not expression:
        return None
    from flowrun.expression import compile_expression

    return compile_expression(expression)


def select(flows: list[Flow], node_ids: dict[str, set[str] | None], keyword: str | None,
           marker: str | None) -> tuple[list[Flow], int]:
    """Keep the flows and tasks that the command line asks for, plus their upstream.

    ``node_ids`` maps a flow id to the task names named on the command line (None: the
    whole file). Returns the flows left (``flow.selected`` set) and how many tasks were
    deselected.
    """
    k_pred, m_pred = _predicate(keyword), _predicate(marker)
    kept: list[Flow] = []
    deselected = 0
    for flow in flows:
        names = node_ids.get(flow.id) if node_ids else None
        if names:
            missing = sorted(set(names) - set(flow.tasks))
            if missing:
                hint = option_checks.did_you_mean(missing[0], list(flow.tasks))
                raise UsageError(f"not found: {flow.id}::{missing[0]}: {flow.id} has no task "
                                 f"'{missing[0]}'{hint}")
        chosen = [n for n in flow.tasks if (not names or n in names)
                  and _matches(flow, flow.tasks[n], k_pred, m_pred)]
        selected = upstream_closure(flow, chosen)
        flow.named = set(chosen) if names or k_pred or m_pred else None
        deselected += len(flow.tasks) - len(selected)
        if selected:
            flow.selected = [n for n in flow.tasks if n in selected]
            kept.append(flow)
    return kept, deselected


def _matches(flow: Flow, task: Task, k_pred: Any, m_pred: Any) -> bool:
    if k_pred is not None:
        words = [task.name.lower(), *(p.lower() for p in flow.id.split("/"))]
        if flow.name:
            words.append(flow.name.lower())
        if not k_pred(lambda ident: any(ident.lower() in w for w in words)):
            return False
    if m_pred is not None:
        tags = set(task.tags) | set(flow.tags)
        if not m_pred(lambda ident: ident in tags):
            return False
    return True
