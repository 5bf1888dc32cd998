"""The dashboard's pages, rendered on the server; the script only adds live updates and
turns buttons and forms into JSON requests."""
from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any, Callable
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from flowrun_ui import actions, templates as t
from flowrun_ui.graphs import flow_nodes, run_nodes
from flowrun_ui.layout import svg
from flowrun_ui.views import group_id
from flowrun_ui.schemas import RunStatus

STATIC = {"app.js": "text/javascript", "app.css": "text/css"}


def make_pages(state: Any) -> APIRouter:
    pages = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    @pages.get("/")
    def runs_page(flow: str | None = Query(None, max_length=1000),
                  status: RunStatus | None = None,
                  before: str | None = Query(None, max_length=64)) -> Response:
        return _html(lambda: _runs(state, flow, status, before))

    @pages.get("/runs/{run_id}")
    def run_page(run_id: str) -> Response:
        return _html(lambda: _run(state, run_id))

    @pages.get("/flows")
    def flows_page() -> Response:
        return _html(lambda: _flows(state))

    @pages.get("/flows/{flow_id:path}/partitions")
    def partitions_page(flow_id: str) -> Response:
        return _html(lambda: _partitions(state, flow_id))

    @pages.get("/flows/{flow_id:path}")
    def flow_page(flow_id: str) -> Response:
        return _html(lambda: _flow(state, flow_id))

    @pages.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            return Response('{"error": "not found"}', 404, media_type="application/json")
        text = resources.files("flowrun_ui").joinpath("static", name).read_text("utf-8")
        return Response(text, media_type=STATIC[name],
                        headers={"Cache-Control": "no-cache"})

    return pages


def _html(render: Callable[[], str]) -> Response:
    try:
        return HTMLResponse(render(), headers={"Content-Security-Policy": CSP})
    except actions.ApiError as exc:
        body = f'<h1>{exc.status}</h1><p class="error">{escape(str(exc))}</p>'
        return HTMLResponse(t.page("Not here", body), status_code=exc.status)


#: Nothing but this server: no request ever leaves it.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")


PAGE = 50


def _runs(state: Any, flow: str | None, status: str | None, before: str | None) -> str:
    runs = actions.list_runs(state, flow, status, PAGE, before)
    flows = [f["id"] for f in state.catalog.flows()]
    statuses = ["running", "succeeded", "failed", "interrupted"]
    older = ""
    if len(runs) == PAGE:
        query = urlencode({k: v for k, v in (("flow", flow), ("status", status),
                                             ("before", runs[-1]["id"])) if v})
        older = f'<p><a class="older" href="/?{escape(query)}">older runs →</a></p>'
    body = ('<h1>Runs</h1><form class="filters" method="get">'
            f'{t.select("flow", flows, flow, "every flow")}'
            f'{t.select("status", statuses, status, "any status")}'
            '<button type="submit">Filter</button></form>' + t.runs_table(runs) + older)
    # only the newest page shows new runs as they come
    return t.page("Runs", body, {"page": "runs" if not before else "older", "flow": flow,
                                 "status": status})


def _run(state: Any, run_id: str) -> str:
    run = actions.run_detail(state, run_id)
    flow = state.catalog.get(run["flow_id"])
    graph = svg(run_nodes(run["flow_id"], flow, run["tasks"]))
    facts = [("Flow", t.link_flow(run["flow_id"])), ("Status", t.badge(run["status"])),
             ("Started", t.when(run["started"])), ("Ended", t.when(run["ended"])),
             ("Duration", t.seconds(run["duration"])), ("Tasks", t.counts(run["counts"]))]
    if run["partition"]:
        facts.append(("Partition", escape(run["partition"])))
    if run["resumed_from"]:
        facts.append(("Resumed from", t.link_run(run["resumed_from"])))
    if run["params"]:
        facts.append(("Parameters", ", ".join(f"{escape(k)}={escape(repr(v))}"
                                              for k, v in run["params"].items())))
    if run.get("error"):
        facts.append(("Error", f'<span class="error">{escape(run["error"])}</span>'))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    can_resume = run["status"] in ("failed", "interrupted") and not run.get("error")
    buttons = (f'<button data-action="resume"{"" if can_resume else " disabled"}>Resume'
               f'</button> <button data-action="cancel"'
               f'{"" if run["status"] == "running" else " disabled"}>Cancel</button>')
    tasks = "".join(t.task_details(task) for task in run["tasks"])
    body = (f'<h1>Run <code>{escape(run["id"])}</code> <span class="run-status">'
            f'{t.badge(run["status"])}</span></h1><div class="actions">{buttons}'
            f'<span id="message" class="message"></span></div><dl class="facts">{dl}</dl>'
            f'<h2>Graph</h2><div class="graph-box">{graph}</div>'
            f'<h2>Timeline</h2>{t.timeline(run, run["tasks"])}'
            f'<h2>Tasks</h2><div class="tasks">{tasks or "<p>No tasks recorded.</p>"}</div>')
    return t.page(f"Run {run['id']}", body, {"page": "run", "run_id": run["id"],
                                             "status": run["status"],
                                             "tasks": len(run["tasks"]),
                                             "members": _members(run["tasks"])})


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


def _flows(state: Any) -> str:
    rows = []
    for flow in state.catalog.flows():
        last = state.store.list_runs(flow=flow["id"], limit=1)
        last_cell = (f'{t.link_run(last[0].id)} {t.badge(str(last[0].status))}'
                     if last else "-")
        error = f'<div class="error">{escape(flow["error"])}</div>' if flow.get("error") else ""
        rows.append(f'<tr data-flow-id="{escape(flow["id"])}"><td>{t.link_flow(flow["id"])}'
                    f'{error}</td><td>{escape(", ".join(flow.get("tags", [])))}</td>'
                    f'<td><code>{escape(flow.get("schedule") or "")}</code></td>'
                    f'<td>{t.when(flow.get("next_due"))}</td><td>{last_cell}</td></tr>')
    body = ('<h1>Flows</h1><table class="grid" id="flows"><thead><tr><th>Flow</th>'
            '<th>Tags</th><th>Schedule</th><th>Next due (UTC)</th><th>Last run</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')
    return t.page("Flows", body, {"page": "flows"})


def _flow(state: Any, flow_id: str) -> str:
    flow = actions.get_flow(state, flow_id)
    last = state.store.list_runs(flow=flow_id, limit=1)
    statuses = {}
    if last:
        statuses = {task["task_id"]: task["status"]
                    for task in actions.run_detail(state, last[0].id)["tasks"]}
    facts = [("Schedule", f'<code>{escape(flow.get("schedule") or "none")}</code>'
              + (f' ({escape(flow["timezone"])})' if flow.get("timezone") else "")),
             ("Next due", t.when(flow.get("next_due"))),
             ("Tags", escape(", ".join(flow.get("tags", []))) or "-"),
             ("Last run", f'{t.link_run(last[0].id)} {t.badge(str(last[0].status))}'
              if last else "never")]
    if flow.get("partitions"):
        href = f"/flows/{quote(flow_id, safe='')}/partitions"
        facts.append(("Partitions", f'<a href="{href}">the grid</a>'))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    body = (f'<h1>Flow <code>{escape(flow_id)}</code></h1><dl class="facts">{dl}</dl>'
            f'<h2>Run it</h2>{_params_form(flow)}'
            f'<h2>Graph</h2><div class="graph-box">{svg(flow_nodes(flow, statuses))}</div>')
    return t.page(flow_id, body, {"page": "flow", "flow_id": flow_id})


def _params_form(flow: dict[str, Any]) -> str:
    fields = [_field(p) for p in flow.get("params", [])]
    if flow.get("partitions"):
        keys = [k for row in flow["partitions"]["keys"] for k in row][-200:]
        fields.append('<label>partition ' + t.select("partition", list(reversed(keys)),
                                                      None, "none") + "</label>")
    return (f'<form id="run-form" class="params">{"".join(fields)}'
            '<button type="submit" id="run-button">Run</button>'
            '<span id="message" class="message"></span></form>')


def _field(param: dict[str, Any]) -> str:
    name, kind, default = param["name"], param["type"], param["default"]
    attrs = f'name="{escape(name)}" data-type="{escape(kind)}"'
    if kind == "bool":
        control = f'<input type="checkbox" {attrs}{" checked" if default else ""}>'
    elif kind in ("int", "float"):
        step = "1" if kind == "int" else "any"
        control = f'<input type="number" step="{step}" {attrs} value="{escape(str(default))}">'
    elif kind in ("list", "dict"):
        control = f'<textarea {attrs} rows="2">{escape(json.dumps(default))}</textarea>'
    else:
        value = "" if default is None else str(default)
        control = f'<input type="text" {attrs} value="{escape(value)}">'
    return (f'<label><span>{escape(name)} <span class="muted">{escape(kind)}</span></span>'
            f"{control}</label>")


def _partitions(state: Any, flow_id: str) -> str:
    grid = actions.grid(state, flow_id)
    cells = {(c["time_key"], c["category"]): c for c in grid["cells"]}
    columns = grid["categories"] or ["status"]
    rows = []
    for time_key in grid["time_keys"] or [None]:
        tds = []
        for column in columns:
            cell = cells.get((time_key, column if grid["categories"] else None))
            key = cell["key"] if cell else ""
            status = cell["status"] if cell else "missing"
            inner = t.link_run(cell["run_id"]) if cell and cell["run_id"] else "-"
            tds.append(f'<td class="cell st-{escape(status)}" data-key="{escape(key)}" '
                       f'data-status="{escape(status)}" title="{escape(key)}: '
                       f'{escape(status)}">{inner}</td>')
        rows.append(f'<tr><th>{escape(time_key or "")}</th>{"".join(tds)}</tr>')
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = (f'<h1>Partitions of {t.link_flow(flow_id)}</h1>'
            '<form id="backfill-form" class="params">'
            '<label><span>start</span><input type="text" name="start" required></label>'
            '<label><span>end</span><input type="text" name="end" required></label>'
            '<label><span>only</span><select name="only"><option value="missing">missing'
            '</option><option value="failed">failed</option><option value="">every key'
            '</option></select></label><button type="submit">Backfill</button>'
            '<span id="message" class="message"></span></form>'
            f'<table class="grid partitions" id="partitions"><thead><tr><th></th>{head}</tr>'
            f'</thead><tbody>{"".join(reversed(rows))}</tbody></table>')
    return t.page(f"Partitions of {flow_id}", body, {"page": "partitions",
                                                     "flow_id": flow_id})
