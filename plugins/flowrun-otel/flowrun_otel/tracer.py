"""One span per run, a child span per task attempt, at a few microseconds per attempt.

The SDK's own ``Span`` costs ~35 µs to open and close here, so the hot path makes none:
when an attempt's ``Call`` is handed to its executor (``CALL_PREPARERS``) it only draws
the span's id and puts the W3C ``traceparent`` in the call (``Call.around``: the task's
own spans nest under it on every executor); ``flowrun_task_finish`` notes the outcome.
When the run ends, a thread builds the finished spans (``ReadableSpan``) and hands them
to the batch processor, off the run's path."""
from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

from flowrun.plugin import CACHED, FAILED, hookimpl

from flowrun_otel import setup

WORKER_SIDE = "flowrun_otel.worker:attached"


class RunTracer:
    def __init__(self, config: Any) -> None:
        setup.provider()
        setup.COORDINATOR.append(os.getpid())
        self.host = os.environ.get("FLOWRUN_HOSTNAME") or os.uname().nodename
        self.runs: dict[str, dict[str, Any]] = {}  # run id -> its ids, times, attempts
        self.trace_ids: dict[str, str] = {}        # run id -> trace id (hex)
        self.builders: list[threading.Thread] = []

    # -- runs ------------------------------------------------------------------------------

    @hookimpl
    def flowrun_run_start(self, run: Any) -> None:
        trace_id = random.getrandbits(128) or 1
        self.runs[run.id] = {"trace": trace_id, "trace_hex": f"{trace_id:032x}",
                             "span": random.getrandbits(64) or 1, "start": time.time_ns(),
                             "opened": {}, "done": []}
        self.trace_ids[run.id] = f"{trace_id:032x}"

    @hookimpl
    def flowrun_run_finish(self, run: Any) -> None:
        state = self.runs.pop(run.id, None)
        if state is None:
            return
        from flowrun_otel.spans import export_run

        builder = threading.Thread(target=export_run, name="flowrun-otel-spans",
                                   args=(state, run, self.host, time.time_ns()),
                                   daemon=True)
        builder.start()
        self.builders.append(builder)

    @hookimpl
    def flowrun_session_finish(self, session: Any) -> None:
        """Keep each run's trace id in the store, for ``flowrun show``."""
        record = getattr(session.storage, "record_trace", None)
        for run_id, trace_id in self.trace_ids.items() if record else ():
            record(run_id, trace_id)

    @hookimpl
    def flowrun_unconfigure(self) -> None:
        for builder in self.builders:
            builder.join()
        setup.shutdown()

    # -- attempts (the hot path) -----------------------------------------------------------

    def prepare_call(self, call: Any, executor: str) -> None:
        """Draw the attempt's span id; its trace context travels in the call."""
        state = self.runs.get(call.run_id)
        if state is None:
            return
        span_id = random.getrandbits(64) or 1
        state["opened"][(call.task_id, call.attempt)] = (span_id, time.time_ns(), executor)
        call.around = (*call.around, (WORKER_SIDE, {
            "traceparent": f"00-{state['trace_hex']}-{span_id:016x}-01"}))

    @hookimpl
    def flowrun_task_finish(self, task: Any) -> None:
        state = self.runs.get(task.run_id)
        if state is None:
            return
        opened = state["opened"].pop((task.task_id, task.attempt), None)
        if opened is None and task.status != CACHED:
            return
        state["done"].append((task.task_id, task.attempt, task.status, opened,
                              time.time_ns(), task.summary if task.status == FAILED
                              else None, task.error if task.status == FAILED else None))
