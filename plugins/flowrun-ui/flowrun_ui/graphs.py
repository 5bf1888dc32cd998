"""Which nodes a page's graph has: a flow's tasks (from the listing), or a run's tasks
with their statuses, mapped instances and children collapsed into one node each with
counts per status."""
from __future__ import annotations

from typing import Any

from flowrun_ui.layout import Node
from flowrun_ui.views import group_id

#: For a collapsed node without a row of its own: the first status any member has.
PRECEDENCE = ("failed", "running", "pending", "cancelled", "skipped", "succeeded", "cached")


def flow_nodes(flow: dict[str, Any], statuses: dict[str, str] | None = None) -> list[Node]:
    statuses = statuses or {}
    return [Node(t["id"], t["name"] + (" [each]" if t["mapped"] else ""),
                 statuses.get(t["id"], "pending"),
                 upstream=[f"{flow['id']}::{u}" for u in t["upstream"]])
            for t in flow.get("tasks", [])]


def run_nodes(flow_id: str, flow: dict[str, Any] | None, tasks: list[dict[str, Any]],
              pending: bool = False) -> list[Node]:
    """One node per task of the file (or group of instances), edges from the flow
    listing; a child hangs off its parent. ``pending``: the flow's tasks not started
    yet are nodes too (a running run)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        groups.setdefault(group_id(task["task_id"]), []).append(task)
    if pending:
        for task in (flow or {}).get("tasks", []):
            groups.setdefault(task["id"], [])
    upstream = {t["id"]: [f"{flow_id}::{u}" for u in t["upstream"]]
                for t in (flow or {}).get("tasks", [])}
    nodes = []
    for gid, members in groups.items():
        own = next((m for m in members if m["task_id"] == gid), None)
        instances = [m for m in members if m["task_id"] != gid]
        status = own["status"] if own else _combined(instances)
        parent = gid.rpartition("::")[0]
        ups = upstream.get(gid) or ([parent] if parent != flow_id and parent in groups
                                    else [])
        label = gid[len(flow_id) + 2:] if gid.startswith(flow_id + "::") else gid
        nodes.append(Node(gid, label, status, _note(instances), [u for u in ups
                                                                if u in groups]))
    return nodes


def _combined(members: list[dict[str, Any]]) -> str:
    present = {m["status"] for m in members}
    return next((s for s in PRECEDENCE if s in present), "pending")


def _note(instances: list[dict[str, Any]]) -> str:
    if not instances:
        return ""
    counts: dict[str, int] = {}
    for m in instances:
        counts[m["status"]] = counts.get(m["status"], 0) + 1
    return f"{len(instances)}× " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


#: Above this many nodes a graph starts folded into groups.
MOST_NODES = 500


def folded(nodes: list[Node]) -> list[Node]:
    """Nodes above ``MOST_NODES`` folded: children into their top-level task, then tasks
    into groups by name prefix (``load_eu``, ``load_us`` -> ``load_*``), then by name
    without its number (``t1``, ``t2`` -> ``t#``), each group one node with counts per
    status, edges between groups kept."""
    for fold in (_top_level, _prefix, _numbered):
        if len(nodes) <= MOST_NODES:
            break
        nodes = _fold(nodes, fold)
    return nodes


def _top_level(node_id: str) -> str:
    flow, _, rest = node_id.partition("::")
    return f"{flow}::{rest.split('::', 1)[0]}" if rest else node_id


def _prefix(node_id: str) -> str:
    head, _, name = node_id.rpartition("::")
    for mark in ("_", ".", "-"):
        if mark in name.strip(mark):
            return f"{head}::{name.strip(mark).split(mark, 1)[0]}{mark}*"
    return node_id


def _numbered(node_id: str) -> str:
    """``step17`` -> ``step#``: tasks told apart by a number alone."""
    head, _, name = node_id.rpartition("::")
    bare = name.rstrip("0123456789")
    return f"{head}::{bare}#" if bare != name and bare else node_id


def _fold(nodes: list[Node], key: Any) -> list[Node]:
    groups: dict[str, list[Node]] = {}
    for node in nodes:
        groups.setdefault(key(node.id), []).append(node)
    folded_nodes = []
    for gid, members in groups.items():
        if len(members) == 1 and members[0].id == gid:
            node = members[0]
            folded_nodes.append(Node(gid, node.label, node.status, node.note,
                                     sorted({key(u) for u in node.upstream} - {gid})))
            continue
        statuses = [{"status": m.status} for m in members]
        ups = sorted({key(u) for m in members for u in m.upstream} - {gid})
        folded_nodes.append(Node(gid, gid.rpartition("::")[2], _combined(statuses),
                                 _note(statuses), ups))
    return folded_nodes
