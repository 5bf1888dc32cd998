"""The finished spans of one run, built after it ends (``ReadableSpan``: what the SDK's
own spans become when they end) and handed to the batch processor."""
from __future__ import annotations

from typing import Any

from flowrun.plugin import CACHED, SUCCEEDED

from flowrun_otel import setup


def export_run(state: dict[str, Any], run: Any, host: str, end: int) -> None:
    """Build the run's span and its attempts' spans; hand them to the processor."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

    processor, resource = setup.processor(), setup.provider().resource
    scope = InstrumentationScope("flowrun")
    trace_id, flags = state["trace"], TraceFlags(TraceFlags.SAMPLED)
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

    leftover = [(task, attempt, "failed", opened, end, "interrupted", None)
                for (task, attempt), opened in state["opened"].items()]
    for task_id, attempt, status, opened, stop, summary, error in state["done"] + leftover:
        span_id, start, executor = opened or (_new_id(), stop, "-")
        events = () if summary is None else (Event("exception", {
            "exception.type": summary.partition(": ")[0] or "Error",
            "exception.message": summary.partition(": ")[2] or summary,
            "exception.stacktrace": error or ""}, stop),)
        processor.on_end(span(
            f"task {task_id.partition('::')[2]}", span_id, run_context,
            {**common, "flowrun.flow": run.flow_id, "flowrun.task": task_id,
             "flowrun.attempt": attempt, "flowrun.executor": executor,
             "flowrun.cache": "hit" if status == CACHED else "miss",
             "flowrun.status": str(status)}, start, stop, summary, events))
    processor.on_end(span(
        f"run {run.flow_id}", state["span"], None,
        {**common, "flowrun.flow": run.flow_id, "flowrun.status": str(run.status)},
        state["start"], end, None if run.status == SUCCEEDED else f"run {run.status}"))


def _new_id() -> int:
    import random

    return random.getrandbits(64) or 1
