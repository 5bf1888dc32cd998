"""One span per run, a child span per task attempt. The attempt's span is opened on the
engine's side when its ``Call`` is handed to the executor (``CALL_PREPARERS``) and its
W3C trace context travels in the call (``Call.around``), so the task's own spans nest
under it on every executor; it ends with the attempt's ``flowrun_task_finish``."""
from __future__ import annotations

import os
from typing import Any

from flowrun.plugin import CACHED, FAILED, SUCCEEDED, hookimpl

from flowrun_otel import setup

WORKER_SIDE = "flowrun_otel.worker:attached"


class RunTracer:
    def __init__(self, config: Any) -> None:
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import (
            TraceContextTextMapPropagator,
        )

        self.trace = trace
        self.tracer = setup.provider().get_tracer("flowrun")
        setup.COORDINATOR.append(os.getpid())
        self.inject = TraceContextTextMapPropagator().inject
        self.host = os.environ.get("FLOWRUN_HOSTNAME") or os.uname().nodename
        self.runs: dict[str, Any] = {}        # run id -> its span
        self.attempts: dict[tuple, Any] = {}  # (run id, task id, attempt) -> its span
        self.trace_ids: dict[str, str] = {}   # run id -> trace id (hex)

    # -- runs ------------------------------------------------------------------------------

    @hookimpl
    def flowrun_run_start(self, run: Any) -> None:
        span = self.tracer.start_span(f"run {run.flow_id}", attributes={
            "flowrun.flow": run.flow_id, "flowrun.run_id": run.id,
            "flowrun.partition": str(run.partition or ""), "host.name": self.host})
        self.runs[run.id] = span
        self.trace_ids[run.id] = format(span.get_span_context().trace_id, "032x")

    @hookimpl
    def flowrun_run_finish(self, run: Any) -> None:
        for key in [k for k in self.attempts if k[0] == run.id]:  # stopped, never finished
            self.attempts.pop(key).end()
        span = self.runs.pop(run.id, None)
        if span is not None:
            if run.status != SUCCEEDED:
                span.set_status(self.trace.Status(self.trace.StatusCode.ERROR,
                                                  f"run {run.status}"))
            span.set_attribute("flowrun.status", str(run.status))
            span.end()

    @hookimpl
    def flowrun_session_finish(self, session: Any) -> None:
        """Keep each run's trace id in the store, for ``flowrun show``."""
        record = getattr(session.storage, "record_trace", None)
        for run_id, trace_id in self.trace_ids.items() if record else ():
            record(run_id, trace_id)

    @hookimpl
    def flowrun_unconfigure(self) -> None:
        setup.shutdown()

    # -- attempts --------------------------------------------------------------------------

    def prepare_call(self, call: Any, executor: str) -> None:
        """Open the attempt's span and put its trace context in the call."""
        span = self._span(call.run_id, call.task_id, call.attempt, executor, "miss")
        self.attempts[(call.run_id, call.task_id, call.attempt)] = span
        carrier: dict[str, str] = {}
        self.inject(carrier, context=self.trace.set_span_in_context(span))
        call.around = (*call.around, (WORKER_SIDE, carrier))

    def _span(self, run_id: str, task_id: str, attempt: int, executor: str,
              cache: str, start: int | None = None) -> Any:
        parent = self.runs.get(run_id)
        return self.tracer.start_span(
            f"task {task_id.partition('::')[2]}", start_time=start,
            context=self.trace.set_span_in_context(parent) if parent else None,
            attributes={"flowrun.flow": task_id.partition("::")[0], "flowrun.task": task_id,
                        "flowrun.run_id": run_id, "flowrun.attempt": attempt,
                        "flowrun.partition": self._partition(run_id),
                        "flowrun.executor": executor, "flowrun.cache": cache,
                        "host.name": self.host})

    def _partition(self, run_id: str) -> str:
        span = self.runs.get(run_id)
        return str(span.attributes.get("flowrun.partition", "")) if span else ""

    @hookimpl
    def flowrun_task_finish(self, task: Any) -> None:
        span = self.attempts.pop((task.run_id, task.task_id, task.attempt), None)
        if span is None:
            if task.status == CACHED:  # reused, never ran: a span that says so
                when = int((task.finished or 0) * 1e9) or None
                self._span(task.run_id, task.task_id, task.attempt, "-", "hit",
                           when).end(end_time=when)
            return
        span.set_attribute("flowrun.status", str(task.status))
        if task.status == FAILED:
            self._failed(span, task)
        span.end()

    def _failed(self, span: Any, task: Any) -> None:
        """Status ERROR and the exception, as ``record_exception`` writes it."""
        kind, _, message = (task.summary or "").partition(": ")
        span.add_event("exception", {"exception.type": kind or "Error",
                                     "exception.message": message or (task.summary or ""),
                                     "exception.stacktrace": task.error or ""})
        span.set_status(self.trace.Status(self.trace.StatusCode.ERROR, task.summary))
