"""Traces across executors: on Dask and SSH workers (thread and process are in
plugins/flowrun-otel/tests), the attempt's trace context reaches the task, so the
task's own span is a child of its attempt's span, exported from the worker to the same
real OTLP/HTTP endpoint on 127.0.0.1."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from all_executors import EXECUTORS, executor  # noqa: F401

pytest.importorskip("flowrun_otel")
pytest.importorskip("opentelemetry.proto")
# The OTLP endpoint the plugin's own tests use.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins/flowrun-otel/tests"))
from otlp_receiver import OtlpReceiver  # noqa: E402

FLOW = """
    from flowrun import task
    from opentelemetry import trace

    @task
    def extract():
        with trace.get_tracer("mine").start_as_current_span("inner"):
            return 1

    @task
    def load(extract):
        return extract + 1
"""


@pytest.fixture
def otlp():
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


def test_a_tasks_own_span_nests_under_its_attempt_on_every_executor(project, otlp,
                                                                      executor):  # noqa: F811
    project.write("flows/flow_orders.py", FLOW)
    result = project.run_subprocess(*executor, env=otlp.env)
    assert result.exit_code == 0, result.stdout + result.stderr
    run = otlp.named("run flows/flow_orders.py")
    extract, load = otlp.named("task extract"), otlp.named("task load")
    inner = otlp.named("inner")
    assert extract["parent"] == load["parent"] == run["span_id"]
    assert inner["parent"] == extract["span_id"]
    assert {s["trace_id"] for s in otlp.spans} == {run["trace_id"]}
    name = "ssh" if "ssh" in executor else ("process" if "process" in executor else
                                            "dask" if "dask" in executor else "thread")
    assert extract["attributes"]["flowrun.executor"] == name
