"""Schemathesis fuzzes the real server from its own OpenAPI document: no 500, and every
response matches the schema. Few examples in the default run; many under ``slow``."""
from __future__ import annotations

import pytest
import schemathesis
from ui_server import FLOW, start_ui
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flowrun.testing import Project

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance,
          content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("schema-project"))
    (project.path / "flowrun.toml").write_text("")
    project.write("flows/flow_demo.py", FLOW)
    project.run_subprocess("-q")  # one real run in the store
    server = start_ui(project.path)
    yield server
    server.stop()


def _fuzz(url: str, examples: int) -> None:
    """Every operation of the document, ``examples`` generated requests each."""
    document = schemathesis.openapi.from_url(url + "api/openapi.json")
    for result in document.exclude(path="/api/v1/events").get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        check()


@pytest.mark.slow
def test_api_answers_every_generated_request_within_its_schema(served):
    _fuzz(served.url, 8)


@pytest.mark.slow
def test_api_survives_a_long_fuzzing(served, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the long fuzzing runs with -m slow")
    _fuzz(served.url, 150)


def test_openapi_document_covers_every_route(served):
    paths = set(served.get("/api/openapi.json").json()["paths"])
    assert paths >= {
        "/api/v1/flows", "/api/v1/flows/{flow_id}", "/api/v1/flows/{flow_id}/runs",
        "/api/v1/flows/{flow_id}/partitions", "/api/v1/flows/{flow_id}/backfill",
        "/api/v1/runs", "/api/v1/runs/{run_id}", "/api/v1/runs/{run_id}/logs",
        "/api/v1/runs/{run_id}/resume", "/api/v1/runs/{run_id}/cancel", "/api/v1/events"}
