"""Where the task runs (a thread, a worker process, an SSH host, a Dask worker): the
attempt's trace context is made current around the task's function, so spans the task
makes with the OpenTelemetry API are children of its attempt's span. Outside the
process that traces the run, a provider is made from the same ``OTEL_*`` variables and
flushed after each attempt (a worker may be killed at any time). Imported only where
a traced attempt runs."""
from __future__ import annotations

import os
from typing import Any

from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from flowrun_otel import setup


class attached:  # noqa: N801 - used as a function: attached(call, carrier)
    """A context manager: the attempt's span is the current one while it is entered."""

    __slots__ = ("carrier", "token", "worker")

    def __init__(self, call: Any, carrier: dict[str, Any]) -> None:
        self.carrier = carrier
        self.worker = os.getpid() not in setup.COORDINATOR

    def __enter__(self) -> None:
        if self.worker:
            setup.provider(self.carrier.get("env"))
        parent = _parent(self.carrier["traceparent"])
        self.token = context.attach(trace.set_span_in_context(parent))

    def __exit__(self, *exc: Any) -> None:
        context.detach(self.token)
        if self.worker:
            setup.provider().force_flush()


_FLAGS = {"01": TraceFlags(TraceFlags.SAMPLED), "00": TraceFlags(TraceFlags.DEFAULT)}


def _parent(traceparent: str) -> Any:
    """The attempt's span as a parent, from the ``traceparent`` flowrun itself wrote
    (``00-TRACE-SPAN-01``, fixed widths): sliced, without the propagator's regular
    expression (a microsecond an attempt)."""
    return NonRecordingSpan(SpanContext(int(traceparent[3:35], 16),
                                        int(traceparent[36:52], 16), True,
                                        _FLAGS.get(traceparent[53:55]) or _FLAGS["00"]))
