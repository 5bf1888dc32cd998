"""The JSON API under ``/api/v1`` (API section 9). Handlers are plain functions run in
the server's thread pool, each on its thread's own store."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response, StreamingResponse

from flowrun_ui import actions
from flowrun_ui import logs as run_logs
from flowrun_ui import schedules as flow_schedules
from flowrun_ui.schemas import (
    Accepted,
    AcceptedMany,
    Backfill,
    Error,
    FlowDetail,
    FlowSummary,
    Grid,
    HistoryGrid,
    LogEntry,
    LogHit,
    LogMatch,
    NoBody,
    PauseState,
    Rerun,
    ScheduleRow,
    RunDetail,
    RunSummary,
    StartRun,
)
from flowrun_ui.page_parts import grid_json, history
from flowrun_ui.views import iso

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Error} for code in (400, 401, 404, 409)}
Status = Literal["running", "succeeded", "failed", "interrupted"]


def make_router(state: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1", responses=ERRORS)

    @api.get("/flows", response_model=list[FlowSummary])
    def list_flows() -> list[dict[str, Any]]:
        """Every collected flow, with its last run; a file that failed to collect has
        ``error``."""
        last, paused = _last_runs(state), flow_schedules.paused(state)
        return [{**_summary(flow, flow["id"] in paused), "last_run": last.get(flow["id"])}
                for flow in state.catalog.flows()]

    @api.get("/flows/{flow_id:path}/partitions", response_model=Grid)
    def partitions(flow_id: str) -> dict[str, Any]:
        """The partition grid: each cell's last status and run."""
        return actions.grid(state, flow_id)

    @api.get("/flows/{flow_id:path}/grid", response_model=HistoryGrid)
    def history_grid(flow_id: str, limit: int = Query(25, ge=1, le=200)) -> dict[str, Any]:
        """The flow's last runs (newest first) × its tasks: each cell a status."""
        return grid_json(history(state, actions.get_flow(state, flow_id), limit))

    @api.post("/flows/{flow_id:path}/pause", response_model=PauseState)
    def pause(flow_id: str, body: NoBody | None = Body(None)) -> dict[str, Any]:
        """Pause the flow's schedule: ``--due`` skips it on every host (409: no schedule)."""
        return flow_schedules.set_paused(state, flow_id, True)

    @api.post("/flows/{flow_id:path}/unpause", response_model=PauseState)
    def unpause(flow_id: str, body: NoBody | None = Body(None)) -> dict[str, Any]:
        """Resume the flow's schedule."""
        return flow_schedules.set_paused(state, flow_id, False)

    @api.get("/schedules", response_model=list[ScheduleRow])
    def schedules() -> list[dict[str, Any]]:
        """Every scheduled flow: ``paused``, its ``next`` fire times and last ``slots``."""
        return flow_schedules.schedules(state)

    @api.post("/flows/{flow_id:path}/runs", status_code=202, response_model=Accepted)
    def start(flow_id: str, body: StartRun | None = Body(None)) -> dict[str, Any]:
        """Start a run as a separate flowrun process; its id is readable at once."""
        body = body or StartRun()
        return {"run_id": actions.start_run(state, flow_id, body.params, body.partition)}

    @api.post("/flows/{flow_id:path}/backfill", status_code=202, response_model=AcceptedMany)
    def backfill(flow_id: str, body: Backfill) -> dict[str, Any]:
        """Run the partitions from start to end (``only`` missing or failed ones), one
        after another."""
        return {"run_ids": actions.backfill(state, flow_id, body.start, body.end,
                                            body.only)}

    @api.get("/flows/{flow_id:path}", response_model=FlowDetail)
    def get_flow(flow_id: str) -> dict[str, Any]:
        """The flow as data, its parameters (with defaults and types), tasks, partitions."""
        flow = actions.get_flow(state, flow_id)
        paused = flow_id in flow_schedules.paused(state)
        return {**flow.get("as_data", {}), **flow, **_summary(flow, paused),
                "last_run": _last_runs(state).get(flow_id)}

    @api.get("/runs", response_model=list[RunSummary])
    def runs(flow: str | None = Query(None, max_length=1000),
             status: Status | None = None,
             tag: str | None = Query(None, max_length=200),
             partition: str | None = Query(None, max_length=200),
             host: str | None = Query(None, max_length=255),
             limit: int = Query(50, ge=1, le=1000),
             before: str | None = Query(None, max_length=64)) -> list[dict[str, Any]]:
        """Runs, newest first; ``before``: those older than that run; ``tag``: runs of
        flows with that tag."""
        return actions.list_runs(state, flow, status, limit, before, tag=tag,
                                 partition=partition, host=host)

    @api.get("/runs/{run_id}", response_model=RunDetail)
    def run(run_id: str) -> dict[str, Any]:
        """One run with every task's attempts."""
        return actions.run_detail(state, run_id)

    @api.get("/runs/{run_id}/logs", response_model=list[LogEntry] | list[LogMatch],
             response_model_exclude_none=True)
    def logs(run_id: str, task: str | None = Query(None, max_length=2000),
             q: str | None = Query(None, min_length=1, max_length=1000),
             context: int = Query(2, ge=0, le=100),
             tail: int | None = Query(None, ge=0, le=100_000)) -> list[dict[str, Any]]:
        """Captured stdout, stderr and log records per task and attempt; ``tail``: each
        stream's last lines only; ``q``: the lines holding that text, with ``context``
        lines around each."""
        reports = run_logs.attempts(state, run_id, task)
        if q is not None:
            return run_logs.matches(reports, q, context)
        return run_logs.entries(reports, tail)

    @api.get("/runs/{run_id}/logs.txt", response_model=None, responses={200: {
        "description": "the log as text",
        "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def logs_text(run_id: str, task: str | None = Query(None, max_length=2000)
                  ) -> StreamingResponse:
        """The whole log of the run (or of one task) as text, to download."""
        reports = run_logs.attempts(state, run_id, task)
        name = f"flowrun-{run_id}.log"
        return StreamingResponse(run_logs.as_text(reports), media_type="text/plain",
                                 headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @api.get("/search", response_model=list[LogHit])
    def search(q: str = Query(..., max_length=1000),
               flow: str | None = Query(None, max_length=1000),
               limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
        """Every stored log of every run (``flow``: of that flow's runs) searched for the
        words of ``q``, newest runs first."""
        return run_logs.search(state, q, flow, limit)

    @api.post("/runs/{run_id}/resume", status_code=202, response_model=Accepted)
    def resume(run_id: str, body: NoBody | None = Body(None)) -> dict[str, Any]:
        """``flowrun --resume RUN`` as a new run: what succeeded is reused."""
        return {"run_id": actions.resume_run(state, run_id)}

    @api.post("/runs/{run_id}/rerun", status_code=202, response_model=Accepted)
    def rerun(run_id: str, body: Rerun) -> dict[str, Any]:
        """A new run of the flow reusing every other succeeded task, rerunning these
        (``downstream``: and everything after them); ``flowrun --resume RUN --force``."""
        return {"run_id": actions.rerun_tasks(state, run_id, body.tasks, body.downstream)}

    @api.post("/runs/{run_id}/cancel", status_code=202, response_model=Accepted)
    def cancel(run_id: str, body: NoBody | None = Body(None)) -> dict[str, Any]:
        """Interrupt a running run on this machine, as Ctrl-C does."""
        actions.cancel_run(state, run_id)
        return {"run_id": run_id}

    @api.get("/events", response_class=StreamingResponse,
             responses={200: {"content": {"text/event-stream": {}}}})
    def events(request: Request) -> StreamingResponse:
        """Server-Sent Events: ``event: run`` and ``event: task`` for every status
        change in the store, whoever made it."""
        return event_stream(state)

    return api


def metrics(state: Any) -> Response:
    """``GET /metrics``: the store's figures in the Prometheus text format (the same as
    ``flowrun metrics``)."""
    from flowrun.plugin import METRICS_CONTENT_TYPE, render_metrics

    return Response(render_metrics(state.store), media_type=METRICS_CONTENT_TYPE)


def event_stream(state: Any) -> StreamingResponse:
    state.hub.start()
    return StreamingResponse(state.hub.stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _summary(flow: dict[str, Any], paused: bool) -> dict[str, Any]:
    """A paused flow is never due: no ``next_due``."""
    return {"id": flow["id"], "tags": flow.get("tags", []), "schedule": flow.get("schedule"),
            "next_due": None if paused else flow.get("next_due"), "paused": paused,
            "error": flow.get("error")}


def _last_runs(state: Any) -> dict[str, dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for flow in state.catalog.flows():
        found = state.store.list_runs(flow=flow["id"], limit=1)
        if found:
            last[flow["id"]] = {"id": found[0].id, "status": str(found[0].status),
                                "started": iso(found[0].started)}
    return last
