"""``Flow(after=[...])``: the flow ids (or paths) a flow waits for in a session, resolved
to flow ids once collected, and cycles among them found (a collection error)."""
from __future__ import annotations

import os

from flowrun.errors import CollectError
from flowrun.model import Flow


def resolve_after(flows: list[Flow], rootdir: str) -> list[CollectError]:
    """Turn every flow's ``after`` into flow ids; return one error per flow caught in a
    cycle of ``after`` (those flows are removed from ``flows``)."""
    errors = []
    for flow in list(flows):
        wrong = [a for a in flow.after if not isinstance(a, str) or not a]
        if wrong:
            errors.append(CollectError(f"Flow(after=...) takes flow ids or paths (strings), "
                                       f"not {wrong[0]!r}", where=flow.id))
            flows.remove(flow)
            continue
        flow.after = tuple(dict.fromkeys(_flow_id(a, flow, rootdir) for a in flow.after))
    by_id = {flow.id: flow for flow in flows}
    for cycle in _cycles(by_id):
        text = " -> ".join(cycle)
        for flow_id in dict.fromkeys(cycle):
            if flow_id in by_id:
                errors.append(CollectError(f"Flow(after=...) makes a cycle: {text}",
                                           where=flow_id))
                flows.remove(by_id.pop(flow_id))
    return errors


def _flow_id(entry: str, flow: Flow, rootdir: str) -> str:
    """A flow id as collection names flows: the path relative to the rootdir (a path
    relative to the flow's own folder is accepted when that file exists)."""
    path = entry if os.path.isabs(entry) else os.path.join(rootdir, entry)
    beside = os.path.join(os.path.dirname(flow.path or rootdir), entry)
    if not os.path.exists(path) and os.path.exists(beside):
        path = beside
    return os.path.relpath(os.path.abspath(path), rootdir).replace(os.sep, "/")


def _cycles(by_id: dict[str, Flow]) -> list[list[str]]:
    """Each cycle once, as ``[a, b, a]`` (depth-first, in collection order)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(flow_id: str, path: list[str]) -> None:
        if flow_id in path:
            found.append(path[path.index(flow_id):] + [flow_id])
            return
        if flow_id in done or flow_id not in by_id:
            return
        for up in by_id[flow_id].after:
            visit(up, path + [flow_id])
        done.add(flow_id)

    for flow_id in list(by_id):
        visit(flow_id, [])
    return found
