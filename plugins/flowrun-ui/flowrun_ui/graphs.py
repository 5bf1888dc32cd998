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


def run_nodes(flow_id: str, flow: dict[str, Any] | None, tasks: list[dict[str, Any]]
              ) -> list[Node]:
    """One node per task of the file (or group of instances), edges from the flow
    listing; a child hangs off its parent."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        groups.setdefault(group_id(task["task_id"]), []).append(task)
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
