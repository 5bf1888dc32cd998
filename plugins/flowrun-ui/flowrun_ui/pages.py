"""The dashboard's pages, rendered on the server from Jinja2 templates; the script only
adds live updates, pan and zoom, and turns buttons and forms into JSON requests."""
from __future__ import annotations

from importlib import resources
from typing import Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from flowrun_ui import actions
from flowrun_ui import logs as run_logs
from flowrun_ui import schedules as flow_schedules
from flowrun_ui.graphs import flow_nodes, folded, run_nodes
from flowrun_ui.layout import svg
from flowrun_ui.rendering import (TEMPLATES, badge, counts, run_href, seconds, task_anchor,
                                  when)
from flowrun_ui.runlist import resumed_by
from flowrun_ui.schemas import RunStatus
from flowrun_ui.views import group_id
from flowrun_ui import page_parts as parts

STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
PAGE = 50
SEARCH_LIMIT = 200
#: Rows of tasks and timeline bars drawn on a run's page (the JSON has every one;
#: failed and running tasks are drawn whatever their place).
MOST_TASKS = 500

#: Nothing but this server: no request ever leaves it.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


def make_pages(state: Any) -> APIRouter:
    pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    @pages.get("/")
    def runs_page(request: Request, flow: str | None = Query(None, max_length=1000),
                  status: RunStatus | None = None,
                  tag: str | None = Query(None, max_length=200),
                  partition: str | None = Query(None, max_length=200),
                  host: str | None = Query(None, max_length=255),
                  before: str | None = Query(None, max_length=64)) -> Response:
        filters = {"flow": flow, "status": status, "tag": tag, "partition": partition,
                   "host": host}
        return _html(request, lambda: _runs(state, filters, before))

    @pages.get("/runs/{run_id}")
    def run_page(request: Request, run_id: str) -> Response:
        return _html(request, lambda: _run(state, run_id))

    @pages.get("/flows")
    def flows_page(request: Request) -> Response:
        return _html(request, lambda: _flows(state))

    @pages.get("/flows/{flow_id:path}/partitions")
    def partitions_page(request: Request, flow_id: str) -> Response:
        return _html(request, lambda: _partitions(state, flow_id))

    @pages.get("/flows/{flow_id:path}")
    def flow_page(request: Request, flow_id: str) -> Response:
        return _html(request, lambda: _flow(state, flow_id))

    @pages.get("/search")
    def search_page(request: Request, q: str | None = Query(None, max_length=1000),
                    flow: str | None = Query(None, max_length=1000)) -> Response:
        return _html(request, lambda: _search(state, q, flow))

    @pages.get("/schedules")
    def schedules_page(request: Request) -> Response:
        return _html(request, lambda: ("schedules.html", {
            "title": "Schedules", "nav_here": "/schedules",
            "rows": flow_schedules.schedules(state), "data": {"page": "schedules"}}))

    @pages.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            return Response('{"error": "not found"}', 404, media_type="application/json")
        text = resources.files("flowrun_ui").joinpath("static", name).read_text("utf-8")
        return Response(text, media_type=STATIC[name],
                        headers={"Cache-Control": "no-cache"})

    return pages


def _html(request: Request, render: Callable[[], tuple[str, dict[str, Any]]]) -> Response:
    """Render ``(template, context)``; an ``ApiError`` is a small page with its status."""
    headers = {"Content-Security-Policy": CSP}
    try:
        name, context = render()
        status = 200
    except actions.ApiError as exc:
        name, status = "error.html", exc.status
        context = {"title": "Not here", "status": exc.status, "message": str(exc)}
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status,
                                      headers=headers)


def _runs(state: Any, filters: dict[str, str | None], before: str | None
          ) -> tuple[str, dict[str, Any]]:
    runs = actions.list_runs(state, filters["flow"], filters["status"], PAGE, before,
                             tag=filters["tag"], partition=filters["partition"],
                             host=filters["host"])
    catalog = state.catalog.flows()
    chosen = {k: v for k, v in filters.items() if v}
    older = newer = None
    if len(runs) == PAGE:
        older = "/?" + urlencode({**chosen, "before": runs[-1]["id"]})
    if before:
        newer = "/?" + urlencode(chosen)
    return "runs.html", {
        "title": "Runs", "nav_here": "/", "runs": runs, "filters": filters,
        "flows": [f["id"] for f in catalog],
        "tags": sorted({t for f in catalog for t in f.get("tags") or []}),
        "statuses": ["running", "succeeded", "failed", "interrupted"],
        "older": older, "newer": newer,
        # only the newest page shows new runs as they come
        "data": {"page": "runs" if not before else "older", **filters}}


def _run(state: Any, run_id: str) -> tuple[str, dict[str, Any]]:
    run = actions.run_detail(state, run_id)
    flow = state.catalog.get(run["flow_id"])
    tasks = run["tasks"]
    nodes = folded(run_nodes(run["flow_id"], flow, tasks, pending=run["status"] == "running"))
    graph = Markup(svg(nodes, lambda node_id: "#" + task_anchor(node_id)))
    failures = [t for t in tasks if t["status"] == "failed"]
    bars, hidden_bars = parts.timeline(run, tasks, MOST_TASKS)
    can_resume = run["status"] in ("failed", "interrupted") and not run.get("error")
    shown = [t for i, t in enumerate(tasks)
             if i < MOST_TASKS or t["status"] in ("failed", "running")]
    return "run.html", {
        "title": f"Run {run['id']}", "nav_here": "/", "run": run, "graph": graph,
        "failures": failures, "can_resume": can_resume,
        "run_facts": _run_facts(state, run), "timeline": bars, "hidden_bars": hidden_bars,
        "tasks": shown, "hidden_tasks": len(tasks) - len(shown),
        "data": {"page": "run", "run_id": run["id"], "status": run["status"],
                 "tasks": len(tasks), "members": _members(tasks)}}


def _run_facts(state: Any, run: dict[str, Any]) -> list[tuple[str, Any]]:
    facts: list[tuple[str, Any]] = [
        ("Flow", parts.flow_link(run["flow_id"])), ("Status", badge(run["status"])),
        ("Started", when(run["started"])), ("Ended", when(run["ended"])),
        ("Duration", seconds(run["duration"])), ("Tasks", counts(run["counts"]))]
    if run.get("host"):
        facts.append(("Host", run["host"]))
    if run["partition"]:
        facts.append(("Partition", run["partition"]))
    if run["resumed_from"]:
        facts.append(("Resumed from", parts.run_link(run["resumed_from"])))
    later = resumed_by(state, run)
    if later:
        facts.append(("Resumed by", parts.run_links(later)))
    if run["params"]:
        facts.append(("Parameters", ", ".join(f"{k}={v!r}" for k, v in run["params"].items())))
    return facts


def _members(tasks: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Collapsed node -> its instances' statuses, for nodes without a row of their own
    (the script recolours them as instance events come)."""
    own = {task["task_id"] for task in tasks}
    members: dict[str, dict[str, str]] = {}
    for task in tasks:
        node = group_id(task["task_id"])
        if node != task["task_id"] and node not in own:
            members.setdefault(node, {})[task["task_id"]] = task["status"]
    return members


def _flows(state: Any) -> tuple[str, dict[str, Any]]:
    flows, paused = [], flow_schedules.paused(state)
    for flow in state.catalog.flows():
        last = state.store.list_runs(flow=flow["id"], limit=1)
        flows.append({**flow, "paused": flow["id"] in paused,
                      "last": {"id": last[0].id, "status": str(last[0].status)}
                      if last else None})
    return "flows.html", {"title": "Flows", "nav_here": "/flows", "flows": flows,
                          "data": {"page": "flows"}}


def _flow(state: Any, flow_id: str) -> tuple[str, dict[str, Any]]:
    flow = actions.get_flow(state, flow_id)
    grid = parts.history(state, flow, 25)
    statuses = grid["runs"][-1]["cells"] if grid["runs"] else {}
    keys = [k for row in (flow.get("partitions") or {}).get("keys", []) for k in row]
    return "flow.html", {
        "title": flow_id, "nav_here": "/flows", "flow_id": flow_id,
        "flow_facts": parts.flow_facts(flow, grid["runs"][-1:]),
        "params": flow.get("params", []), "partition_keys": list(reversed(keys[-200:])),
        "graph": Markup(svg(folded(flow_nodes(flow, statuses)), _task_link(grid))),
        "grid": grid,
        "data": {"page": "flow", "flow_id": flow_id}}


def _search(state: Any, q: str | None, flow: str | None) -> tuple[str, dict[str, Any]]:
    hits, error = [], None
    if q:
        try:
            hits = run_logs.search(state, q, flow or None, SEARCH_LIMIT)
        except actions.ApiError as exc:
            error = str(exc)
    return "search.html", {"title": "Search", "nav_here": "/search", "q": q, "flow": flow,
                           "flows": [f["id"] for f in state.catalog.flows()], "hits": hits,
                           "error": error, "most": SEARCH_LIMIT, "data": {"page": "search"}}


def _task_link(grid: dict[str, Any]) -> Callable[[str], str | None]:
    """A node of the flow's graph opens that task in the flow's last run."""
    if not grid["runs"]:
        return lambda node_id: None
    last = grid["runs"][-1]["id"]
    return lambda node_id: f"{run_href(last)}#{task_anchor(node_id)}"


def _partitions(state: Any, flow_id: str) -> tuple[str, dict[str, Any]]:
    grid = actions.grid(state, flow_id)
    cells = {(c["time_key"], c["category"]): c for c in grid["cells"]}
    columns = grid["categories"] or ["status"]
    rows = []
    for time_key in grid["time_keys"] or [None]:
        row = [cells.get((time_key, c if grid["categories"] else None)) for c in columns]
        rows.append({"time_key": time_key, "cells": [
            c or {"key": "", "status": "missing", "run_id": None} for c in row]})
    return "partitions.html", {"title": f"Partitions of {flow_id}", "nav_here": "/flows",
                               "flow_id": flow_id, "columns": columns,
                               "rows": list(reversed(rows)),
                               "data": {"page": "partitions", "flow_id": flow_id}}
