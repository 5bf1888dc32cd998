"""The import rules of DESIGN.md, checked with ast so they stay true.

- A plugin module (everything under ``executors/``, ``storage/``, ``reporters/``,
  ``collect/`` and every package under ``plugins/``) imports from flowrun only
  ``flowrun.plugin`` and modules of its own package, exactly as a third party would.
  The modules that ``flowrun/plugin.py`` itself re-exports are the API's own parts:
  they are what ``flowrun.plugin`` is made of, and may not reach the engine, the
  session, the CLI or the plugin manager.
- ``errors``, ``model``, ``stash`` and ``hookspecs`` import nothing of flowrun when
  they load (the model's ``to_dict``/``from_dict`` load the converter on call).
- The engine knows no concrete executor, store, reporter or collector.
- Modules stay under 400 lines (``hookspecs.py`` is documentation and may run long).
- Tests read stores through the Storage interface (``flowrun.testing``, the CLI's
  ``--json``), never with SQL; only the database file's own checks (integrity, WAL,
  permissions) open it.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "flowrun"
PLUGIN_FOLDERS = ("executors", "storage", "reporters", "collect")
OUTSIDE_THE_API = ("flowrun.engine", "flowrun.session", "flowrun.cli", "flowrun.plugins",
                   "flowrun.watch", "flowrun.schedules", "flowrun.testing")


def _tree(path: Path, top_level_only: bool = False,
          type_checking: bool = False) -> list[ast.AST]:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING" \
                and not type_checking:
            node.body = []
    return list(tree.body) if top_level_only else list(ast.walk(tree))


def flowrun_imports(path: Path, top_level_only: bool = False,
                    type_checking: bool = False) -> set[str]:
    """flowrun modules ``path`` imports at run time (``if TYPE_CHECKING:`` excluded
    unless ``type_checking``)."""
    found = set()
    for node in _tree(path, top_level_only, type_checking):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "flowrun")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                node.module.split(".")[0] == "flowrun":
            found.add(node.module)
    return found


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


#: What plugin.py gathers: imported when it loads, or named for type checkers and loaded
#: on first use.
API_PARTS = flowrun_imports(PACKAGE / "plugin.py", type_checking=True) - {"flowrun"}


def plugin_modules() -> list[Path]:
    files = {p for folder in PLUGIN_FOLDERS for p in (PACKAGE / folder).rglob("*.py")}
    files = {p for p in files if module_name(p) not in API_PARTS}
    shipped = {p for p in ROOT.glob("plugins/*/*/**/*.py") if "tests" not in p.parts}
    return sorted(files | shipped)


def own_package(path: Path) -> str:
    if path.is_relative_to(PACKAGE):
        return "flowrun." + path.relative_to(PACKAGE).parts[0]
    return path.relative_to(ROOT / "plugins").parts[1]  # plugins/NAME/PACKAGE/...


def _ids(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", plugin_modules(), ids=_ids)
def test_plugin_modules_import_only_the_plugin_api_and_their_own_package(path):
    package = own_package(path)
    others = {m for m in flowrun_imports(path)
              if m != "flowrun.plugin" and m != package and not m.startswith(package + ".")}
    assert not others, f"{_ids(path)} imports {sorted(others)}: use flowrun.plugin"


def test_the_plugin_api_is_what_third_parties_need():
    import flowrun.plugin as api

    for name in ("hookimpl", "Config", "OptionParser", "StashKey", "UsageError",
                 "StoreError", "Flow", "Report", "Run", "Status", "Executor", "Call",
                 "Outcome", "run_attempt", "failed_outcome", "Packer", "run_packed_call",
                 "load_function", "Storage", "SlotStore"):
        assert name in api.__all__
        assert getattr(api, name).__doc__ or name.isupper() or name == "Done"
    for name in api.__all__:  # every name resolves, those loaded on first use included
        assert getattr(api, name) is not None, name


@pytest.mark.parametrize("name", sorted(API_PARTS))
def test_the_api_parts_stay_below_the_engine(name):
    path = ROOT / (name.replace(".", "/") + ".py")
    if not path.exists():
        path = ROOT / name.replace(".", "/") / "__init__.py"
    bad = {m for m in flowrun_imports(path) if m.startswith(OUTSIDE_THE_API)}
    assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.parametrize("name", ["errors.py", "model.py", "stash.py", "hookspecs.py"])
def test_foundation_modules_import_nothing_of_flowrun_when_loaded(name):
    found = flowrun_imports(PACKAGE / name, top_level_only=True) - {"flowrun.errors"}
    assert found == set()


@pytest.mark.parametrize("path", sorted((PACKAGE / "engine").glob("*.py")), ids=_ids)
def test_engine_knows_no_concrete_executor_store_reporter_or_collector(path):
    concrete = {m for m in flowrun_imports(path)
                if m.split(".")[1:2] and m.split(".")[1] in PLUGIN_FOLDERS}
    assert not concrete, f"{_ids(path)} imports {sorted(concrete)}: use flowrun.plugin"


def test_modules_stay_small():
    for path in [*PACKAGE.rglob("*.py"), *ROOT.glob("plugins/*/*/**/*.py")]:
        if path.name != "hookspecs.py":
            lines = len(path.read_text().splitlines())
            assert lines <= 400, f"{_ids(path)} has {lines} lines"


#: SQL in a test's source: a query, or a call that runs one.
SQL = re.compile(r"\bSELECT\b.*\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b"
                 r"|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\.execute(many)?\(")


@pytest.mark.parametrize("path", sorted([*(ROOT / "tests").glob("*.py"),
                                         *ROOT.glob("plugins/*/tests/*.py")]), ids=_ids)
def test_tests_read_stores_through_the_interface(path):
    """Benchmarks (tests/benchmarks) may fill a store with SQL for speed, and a test of
    the SQLite file format itself says so on the line (``# the file format``)."""
    if path == Path(__file__).resolve():
        return
    found = [line.strip() for line in path.read_text().splitlines()
             if SQL.search(line) and "PRAGMA" not in line and "# the file format" not in line]
    assert not found, f"{_ids(path)} queries the store with SQL: {found[0]}"
