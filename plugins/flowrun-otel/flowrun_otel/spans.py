"""The finished spans of one run, built once it ended (``ReadableSpan``: what the SDK's
own spans become when they end) from its attempts as the store has them, and handed to
the batch processor."""
from __future__ import annotations

import random
from typing import Any

from flowrun.plugin import CACHED, FAILED, SUCCEEDED

from flowrun_otel import setup


def export_run(state: dict[str, Any], run: Any, attempts: list[Any], host: str) -> None:
    """The run's span and a child span per attempt (an attempt handed to an executor
    but never recorded ends with the run, as interrupted)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

    processor, resource = setup.processor(), setup.provider().resource
    scope = InstrumentationScope("flowrun")
    trace_id, flags, end = state["trace"], TraceFlags(TraceFlags.SAMPLED), state["end"]
    run_context = SpanContext(trace_id, state["span"], False, flags)
    common = {"flowrun.run_id": run.id, "flowrun.partition": str(run.partition or ""),
              "host.name": host}

    def span(name: str, span_id: int, parent: Any, attributes: dict[str, Any],
             start: int, stop: int, error: str | None, events: tuple = ()) -> Any:
        status = Status(StatusCode.ERROR, error) if error else Status(StatusCode.UNSET)
        return ReadableSpan(name=name, context=SpanContext(trace_id, span_id, False, flags),
                            parent=parent, resource=resource, attributes=attributes,
                            events=events, links=(), kind=trace.SpanKind.INTERNAL,
                            instrumentation_scope=scope, status=status,
                            start_time=start, end_time=stop)

    def attempt_span(task_id: str, attempt: int, span_id: int, executor: str,
                     status: str, start: int, stop: int, error: tuple | None) -> Any:
        summary, events = (None, ()) if error is None else \
            (error[0], _exception(error[0], error[1], stop))
        return span(f"task {task_id.partition('::')[2]}", span_id, run_context,
                    {**common, "flowrun.flow": run.flow_id, "flowrun.task": task_id,
                     "flowrun.attempt": attempt, "flowrun.executor": executor,
                     "flowrun.cache": "hit" if status == CACHED else "miss",
                     "flowrun.status": str(status)}, start, stop, summary, events)

    opened = dict(state["opened"])
    for report in attempts:
        ids = opened.pop((report.task_id, report.attempt), None)
        if ids is None and report.status != CACHED:
            continue  # skipped or cancelled: it never ran
        span_id, executor = ids or (_new_id(), "-")
        stop = int(report.finished * 1e9) if report.finished else end
        start = int(report.started * 1e9) if report.started else stop
        processor.on_end(attempt_span(report.task_id, report.attempt, span_id, executor,
                                      report.status, start, stop, _error(report)))
    for (task_id, attempt), (span_id, executor) in opened.items():  # never recorded
        processor.on_end(attempt_span(task_id, attempt, span_id, executor, "interrupted",
                                      end, end, ("interrupted", None)))
    processor.on_end(span(
        f"run {run.flow_id}", state["span"], None,
        {**common, "flowrun.flow": run.flow_id, "flowrun.status": str(run.status)},
        state["start"], end, None if run.status == SUCCEEDED else f"run {run.status}"))


def _error(report: Any) -> tuple[str, str | None] | None:
    """(summary, traceback) of an attempt that failed or never finished; else None."""
    if report.status in (CACHED, SUCCEEDED):
        return None
    if report.status == FAILED or report.finished is None:
        return report.summary or str(report.status), report.error
    return None


def _exception(summary: str | None, error: str | None, when: int) -> tuple:
    """The ``exception`` event ``record_exception`` would add, from the stored error."""
    if summary is None:
        return ()
    from opentelemetry.sdk.trace import Event

    kind, _, message = summary.partition(": ")
    return (Event("exception", {"exception.type": kind or "Error",
                                "exception.message": message or summary,
                                "exception.stacktrace": error or ""}, when),)


def _new_id() -> int:
    return random.getrandbits(64) or 1
