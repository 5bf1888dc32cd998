"""The import rules of DESIGN.md, checked with ast so they stay true.

A plugin module (collector, executors, stores, reporters) may import only the plain
model and the pieces a task runs with, never the engine, the session, the CLI or
another plugin; ``errors`` and ``model`` import nothing of flowrun; the engine knows
no concrete executor, store or reporter.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "flowrun"

#: What a plugin module may import from flowrun.
PLUGIN_ALLOWED = {"flowrun", "flowrun.model", "flowrun.errors", "flowrun.hookspecs",
                  "flowrun.api", "flowrun.context", "flowrun.runner", "flowrun.results",
                  "flowrun.capture", "flowrun.source", "flowrun.executors",
                  "flowrun.storage", "flowrun.schedule", "flowrun.reuse",
                  "flowrun.worker"}  # the wire protocol shared by process and SSH workers
PLUGIN_MODULES = ["collect.py", "resume.py", "runner_plugin.py", "executors/*.py",
                  "storage/*.py", "reporters/*.py", "specs.py", "scheduling.py",
                  "watch_cycle.py", "reuse.py"]
ENGINE_ALLOWED = {"flowrun", "flowrun.model", "flowrun.graph", "flowrun.errors",
                  "flowrun.context", "flowrun.runner", "flowrun.results", "flowrun.source",
                  "flowrun.nodes", "flowrun.spawning", "flowrun.interrupts"}


def flowrun_imports(path: Path) -> set[str]:
    """flowrun modules ``path`` imports at run time (``if TYPE_CHECKING:`` excluded)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("flowrun"))
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("flowrun") and node.level == 0:
            found.add(node.module)
    return found


def plugin_files() -> list[Path]:
    files = {p for pattern in PLUGIN_MODULES for p in PACKAGE.glob(pattern)}
    files |= set(PACKAGE.parent.glob("plugins/*/*/**/*.py")) - set(
        PACKAGE.parent.glob("plugins/*/tests/**/*.py"))  # shipped plugins, like third parties
    return sorted(f for f in files if f.name != "__init__.py" or f.parent != PACKAGE)


@pytest.mark.parametrize("path", plugin_files(),
                         ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_plugin_modules_import_only_the_model_layer(path):
    assert flowrun_imports(path) <= PLUGIN_ALLOWED


@pytest.mark.parametrize("name", ["errors.py", "model.py", "hookspecs.py"])
def test_foundation_modules_import_nothing_of_flowrun(name):
    assert flowrun_imports(PACKAGE / name) == set()


def test_engine_knows_no_concrete_executor_store_or_reporter():
    assert flowrun_imports(PACKAGE / "engine.py") <= ENGINE_ALLOWED


def test_modules_stay_small():
    """The engine is the largest (about 500 lines); everything else is far smaller."""
    for path in PACKAGE.rglob("*.py"):
        if path.name != "hookspecs.py":
            lines = len(path.read_text().splitlines())
            assert lines <= 520, f"{path.relative_to(PACKAGE)} has {lines} lines"
