"""Fixtures of the UI's tests; the server they start lives in ``ui_server``."""
from __future__ import annotations

import importlib.util
from typing import Any

import pytest

#: Without the package and its test extra (pip install -e "plugins/flowrun-ui[test]"),
#: these tests are not collected, as the Dask plugin's are not without Dask.
NEEDED = ("flowrun_ui", "httpx", "schemathesis", "playwright")
if any(importlib.util.find_spec(name) is None for name in NEEDED):
    collect_ignore_glob = ["test_*.py"]
else:
    from ui_server import FLOW, start_ui


@pytest.fixture
def ui(project: Any) -> Any:
    project.write("flows/flow_demo.py", FLOW)
    server = start_ui(project.path)
    yield server
    server.stop()
