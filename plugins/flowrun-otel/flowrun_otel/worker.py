"""Where the task runs (a thread, a worker process, an SSH host, a Dask worker): the
attempt's trace context is made current around the task's function, so spans the task
makes with the OpenTelemetry API are children of its attempt's span. Outside the
process that traces the run, a provider is made from the same ``OTEL_*`` variables and
flushed after each attempt (a worker may be killed at any time)."""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

from flowrun_otel import setup


@contextlib.contextmanager
def attached(call: Any, carrier: dict[str, str]) -> Iterator[None]:
    from opentelemetry import context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    worker = os.getpid() not in setup.COORDINATOR
    if worker:
        setup.provider()
    token = context.attach(TraceContextTextMapPropagator().extract(carrier))
    try:
        yield
    finally:
        context.detach(token)
        if worker:
            setup.provider().force_flush()
