"""One span per run, a child span per task attempt, at a few microseconds per attempt.

The SDK's own ``Span`` costs ~35 µs to open and close here, so the hot path makes none:
when an attempt's ``Call`` is handed to its executor (``CALL_PREPARERS``) the tracer
only draws the span's id and puts the W3C ``traceparent`` in the call (``Call.around``:
the task's own spans nest under it on every executor). It listens to no task event:
when the session ends, the attempts' times and outcomes are read back from the store
and the finished spans (``ReadableSpan``) handed to the batch processor."""
from __future__ import annotations

import os
import random
import time
from typing import Any

from flowrun.plugin import hookimpl

from flowrun_otel import setup

WORKER_SIDE = "flowrun_otel.worker:attached"


class RunTracer:
    def __init__(self, config: Any) -> None:
        setup.provider()
        setup.COORDINATOR.append(os.getpid())
        self.host = os.environ.get("FLOWRUN_HOSTNAME") or os.uname().nodename
        self.runs: dict[str, dict[str, Any]] = {}  # run id -> its ids, times, attempts
        self.finished: list[tuple[dict[str, Any], Any]] = []  # (state, run), to export
        #: The exporter's configuration, for workers that do not inherit it (SSH).
        self.env = {name: value for name, value in os.environ.items()
                    if name.startswith("OTEL_")}

    # -- runs ------------------------------------------------------------------------------

    @hookimpl
    def flowrun_run_start(self, run: Any) -> None:
        trace_id = random.getrandbits(128) or 1
        self.runs[run.id] = {"trace": trace_id, "trace_hex": f"{trace_id:032x}",
                             "span": random.getrandbits(64) or 1, "start": time.time_ns(),
                             "opened": {}}

    @hookimpl
    def flowrun_run_finish(self, run: Any) -> None:
        state = self.runs.pop(run.id, None)
        if state is not None:
            state["end"] = time.time_ns()
            self.finished.append((state, run))

    @hookimpl(trylast=True)  # after the summary line
    def flowrun_session_finish(self, session: Any) -> None:
        """Keep each run's trace id in the store (for ``flowrun show``); export the
        runs' spans, their attempts read back from the store."""
        from flowrun_otel.spans import export_run

        storage = session.storage
        record = getattr(storage, "record_trace", None)
        finished, self.finished = self.finished, []
        for state, run in finished:
            if record is not None:
                record(run.id, state["trace_hex"])
            attempts = storage.attempts(run.id) if storage is not None else []
            export_run(state, run, attempts, self.host)

    @hookimpl
    def flowrun_unconfigure(self) -> None:
        setup.shutdown()

    # -- attempts (the hot path) -----------------------------------------------------------

    def prepare_call(self, call: Any, executor: str) -> None:
        """Draw the attempt's span id; its trace context travels in the call."""
        state = self.runs.get(call.run_id)
        if state is None:
            return
        span_id = random.getrandbits(64) or 1
        state["opened"][(call.task_id, call.attempt)] = (span_id, executor)
        call.around = (*call.around, (WORKER_SIDE, {
            "traceparent": f"00-{state['trace_hex']}-{span_id:016x}-01", "env": self.env}))
