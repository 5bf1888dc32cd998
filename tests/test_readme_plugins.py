"""The plugins the README's "Writing a plugin" section shows work as printed."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from flowrun.testing import ExecutorSuite, StorageSuite

README = Path(__file__).resolve().parent.parent / "README.md"


def example(name: str) -> str:
    match = re.search(rf"<!-- example:{name} -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert match, f"README has no example:{name} block"
    return match.group(1)


FLOW = """
    from flowrun import task, submit

    @task
    def numbers():
        return [1, 2, 3]

    @task(each="numbers")
    def square(numbers):
        return numbers * numbers

    @task
    def total(square):
        return sum(submit(lambda x: x, n).result() for n in square)
"""


@pytest.fixture
def readme_plugins(project):
    project.write("flowrun_inline.py", example("executor"))
    project.write("flowrun_memstore.py", example("storage"))
    project.write("flows/flow_sum.py", FLOW)
    return project


def test_the_readme_executor_runs_a_flow_with_children(readme_plugins):
    result = readme_plugins.run("-p", "flowrun_inline", "--executor", "inline")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_sum.py::total") == 14


def test_the_readme_store_keeps_runs_for_history_within_one_process(readme_plugins):
    from flowrun.plugin import Storage

    result = readme_plugins.run("-p", "flowrun_memstore", "--store", "mem://scratch", "-v")
    assert result.exit_code == 0, result.output
    assert "total SUCCEEDED" in result.output
    assert not (readme_plugins.path / ".flowrun").exists()  # nothing went to SQLite
    spec = importlib.util.spec_from_file_location("memstore", readme_plugins.path /
                                                  "flowrun_memstore.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert isinstance(module.MemoryStorage("mem://x"), Storage)


def _load(name: str, tmp_path: Path) -> Any:
    path = tmp_path / f"{name}.py"
    path.write_text(example("executor" if name == "flowrun_inline" else "storage"))
    spec = importlib.util.spec_from_file_location(f"readme_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestTheReadmeExecutorPassesTheExecutorSuite(ExecutorSuite):
    executor_args = ["-p", "flowrun_inline", "--executor", "inline"]

    def prepare_project(self, project):
        project.write("flowrun_inline.py", example("executor"))


class TestTheReadmeStorePassesTheStorageSuite(StorageSuite):
    persistent = False  # it lives in memory

    @pytest.fixture
    def make_store(self, tmp_path):
        module = _load("flowrun_memstore", tmp_path)
        return lambda: module.MemoryStorage("mem://suite")
