"""Traces end to end: real ``flowrun`` processes export to a real OTLP/HTTP endpoint on
127.0.0.1 that decodes the protobuf requests; span trees and parents on the thread and
process executors, a failed attempt's status and exception, the trace id ``show``
prints, and nothing at all without the configuration."""
from __future__ import annotations

import importlib.util
import json

import pytest

if importlib.util.find_spec("opentelemetry.proto") is None:  # pragma: no cover
    pytest.skip("needs plugins/flowrun-otel[test]", allow_module_level=True)

from otlp_receiver import OtlpReceiver  # noqa: E402

FLOW = """
    from flowrun import task
    from opentelemetry import trace

    @task
    def extract():
        with trace.get_tracer("mine").start_as_current_span("inner"):
            return 1

    @task(retries=1)
    def load(extract):
        raise ValueError("orders.csv missing")
"""
STATUS_ERROR = 2  # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR


@pytest.fixture
def otlp():
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_run_is_one_trace_with_a_span_per_attempt(project, otlp, executor):
    project.write("flows/flow_orders.py", FLOW)
    result = project.run_subprocess("--executor", executor, env=otlp.env)
    assert result.exit_code == 1, result.stdout + result.stderr
    run_id = result.runs()[0]["id"]
    run = otlp.named("run flows/flow_orders.py")
    assert run["parent"] is None and run["status"] == STATUS_ERROR
    extract, inner = otlp.named("task extract"), otlp.named("inner")
    assert extract["parent"] == run["span_id"] and inner["parent"] == extract["span_id"]
    assert len({s["trace_id"] for s in otlp.spans}) == 1
    assert extract["attributes"] == {
        "flowrun.flow": "flows/flow_orders.py", "flowrun.task": "flows/flow_orders.py::extract",
        "flowrun.run_id": run_id, "flowrun.attempt": 1, "flowrun.partition": "",
        "flowrun.executor": executor, "flowrun.cache": "miss", "flowrun.status": "succeeded",
        "host.name": extract["attributes"]["host.name"]}
    loads = sorted((s for s in otlp.spans if s["name"] == "task load"),
                   key=lambda s: s["attributes"]["flowrun.attempt"])
    assert [s["attributes"]["flowrun.attempt"] for s in loads] == [1, 2]
    assert all(s["status"] == STATUS_ERROR and s["events"] == ["exception"] for s in loads)
    assert loads[0]["event_attributes"][0]["exception.type"] == "ValueError"
    show = project.run("show", run_id)
    assert f"trace: {run['trace_id']}" in show.output
    assert json.loads(project.run("show", run_id, "--json").stdout)["trace_id"] == \
        run["trace_id"]


def test_otel_option_turns_tracing_on(project, otlp):
    project.write("flows/flow_orders.py", FLOW)
    env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{otlp.port}/v1/traces",
           "OTEL_BSP_SCHEDULE_DELAY": "50"}
    project.run_subprocess(env=env)
    assert otlp.spans == []  # a traces endpoint alone is not a switch
    project.run_subprocess("--otel", env=env)
    assert otlp.named("run flows/flow_orders.py")


def test_without_configuration_nothing_is_imported_or_sent(project, otlp):
    project.write("flows/flow_check.py", """
        import sys
        from flowrun import task

        @task
        def loaded():
            return sorted(m for m in sys.modules if m.startswith("opentelemetry"))
    """)
    result = project.run_subprocess()
    assert result.exit_code == 0
    assert result.result("flows/flow_check.py::loaded") == []
    assert otlp.spans == []


def test_an_unknown_exporter_is_a_usage_error(project):
    project.write("flows/flow_orders.py", FLOW)
    result = project.run_subprocess(env={"OTEL_TRACES_EXPORTER": "zipkin"})
    assert result.exit_code == 4
    assert "OTEL_TRACES_EXPORTER=zipkin" in result.stderr and "Traceback" not in result.stderr


def test_a_reused_result_is_a_span_with_a_cache_hit(project, otlp):
    project.write("flows/flow_orders.py", FLOW)
    assert project.run_subprocess(env=otlp.env).exit_code == 1
    otlp.spans.clear()
    project.run_subprocess("--resume", env=otlp.env)
    extract = otlp.named("task extract")
    assert extract["attributes"]["flowrun.cache"] == "hit"
    assert extract["attributes"]["flowrun.status"] == "cached"
    assert extract["parent"] == otlp.named("run flows/flow_orders.py")["span_id"]
    assert [s for s in otlp.spans if s["name"] == "inner"] == []  # it did not run


@pytest.mark.skipif(importlib.util.find_spec("opentelemetry.exporter.otlp.proto.grpc") is None,
                    reason="needs plugins/flowrun-otel[grpc]")
@pytest.mark.parametrize("executor", ["thread", "process"])
def test_traces_go_over_grpc_too(project, executor):
    from otlp_receiver import OtlpGrpcReceiver

    receiver = OtlpGrpcReceiver()
    try:
        project.write("flows/flow_orders.py", FLOW)
        project.run_subprocess("--executor", executor, env=receiver.env)
        run, extract = receiver.named("run flows/flow_orders.py"), receiver.named("task extract")
        assert extract["parent"] == run["span_id"]
        assert receiver.named("inner")["parent"] == extract["span_id"]
    finally:
        receiver.stop()
