"""The import rules of DESIGN.md, checked with ast so they stay true.

The code is drawn as parts (``PARTS``: the command line, the session, the host of the
plugin manager, the engine, the plugin API, the model, the plugins, the shipped plugins,
the testing helpers) and some directions between parts must never exist (``NEVER``).
Every import counts: at the top of a module, inside a function, and under
``if TYPE_CHECKING:`` (a type checker follows those too).

- A plugin module (everything under ``executors/``, ``storage/``, ``reporters/``,
  ``collect/``, ``schedules/`` and every package under ``plugins/``) imports from
  flowrun only ``flowrun.plugin`` (the floor, its modules included) and modules of its
  own package, exactly as a third party would. No exceptions.
- The plugin API (``flowrun/plugin/``) is a floor: its modules import only the ground
  floor (``FLOOR``) and each other, never the ``flowrun.plugin`` package itself, and no
  import cycle runs through it.
- The ground floor (errors, model, stash, hookspecs, ...) imports only the ground floor.
- The engine knows no concrete executor, store, reporter or collector.
- Modules stay under 400 lines (``hookspecs.py`` is documentation and may run long).
- Tests read stores through the Storage interface (``flowrun.testing``, the CLI's
  ``--json``), never with SQL; only the database file's own checks (integrity, WAL,
  permissions) open it.
"""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "flowrun"
PLUGIN_FOLDERS = ("executors", "storage", "reporters", "collect", "schedules")

#: The parts of the code, as paths from the repository's root (a folder ends in "/").
PARTS: dict[str, tuple[str, ...]] = {
    "Face": ("flowrun/cli/", "flowrun/__main__.py"),
    "Session": ("flowrun/session.py", "flowrun/watch/", "flowrun/debugging.py",
                "flowrun/capturing.py", "flowrun/params.py", "flowrun/unstarted.py",
                "flowrun/notify/"),
    "Host": ("flowrun/hookspecs.py", "flowrun/plugins.py", "flowrun/builtin_plugins.py",
             "flowrun/entry_points.py", "flowrun/config.py", "flowrun/config_keys.py",
             "flowrun/trust.py"),
    "Engine": ("flowrun/engine/", "flowrun/graph.py", "flowrun/flow_order.py",
               "flowrun/option_checks.py", "flowrun/expression.py", "flowrun/resume.py",
               "flowrun/reuse.py", "flowrun/codeprint.py", "flowrun/filehash.py",
               "flowrun/fingerprint.py", "flowrun/caching.py", "flowrun/forcing.py"),
    "API": ("flowrun/plugin/",),
    "Model": ("flowrun/model.py", "flowrun/model_dicts.py", "flowrun/errors.py",
              "flowrun/stash.py", "flowrun/hashing.py", "flowrun/api.py",
              "flowrun/context.py", "flowrun/schemas/", "flowrun/__init__.py"),
    "Plugins": tuple(f"flowrun/{folder}/" for folder in PLUGIN_FOLDERS),
    "Shipped": ("plugins/",),
    "Testing": ("flowrun/testing.py", "flowrun/contract/"),
}

#: Directions between parts that must never exist, and why.
NEVER: dict[tuple[str, str], str] = {
    ("API", "Plugins"): "the plugin API is a floor: it never stands on a plugin",
    ("API", "Engine"): "the plugin API knows no engine",
    ("API", "Session"): "the plugin API knows no session",
    ("API", "Face"): "the plugin API knows no command line",
    ("Plugins", "Engine"): "a plugin sees only the API",
    ("Plugins", "Session"): "a plugin sees only the API",
    ("Plugins", "Face"): "no plugin prints through the CLI",
    ("Engine", "Plugins"): "the engine reaches plugins only through hooks",
    ("Engine", "Face"): "the engine knows no command line",
    ("Model", "Engine"): "the model is the ground floor",
    ("Model", "Plugins"): "the model is the ground floor",
    ("Model", "API"): "the model is the ground floor",
    ("Shipped", "Engine"): "a shipped plugin uses the public interface only",
    ("Shipped", "Session"): "a shipped plugin uses the public interface only",
}

#: What the plugin API's own modules may stand on, besides each other.
FLOOR = frozenset({"flowrun.errors", "flowrun.model", "flowrun.model_dicts",
                   "flowrun.stash", "flowrun.hookspecs", "flowrun.hashing",
                   "flowrun.context", "flowrun.schemas"})


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
    """flowrun modules ``path`` imports (``if TYPE_CHECKING:`` excluded unless
    ``type_checking``); ``from flowrun.plugin import results`` names the module
    ``flowrun.plugin.results`` when that is a module, else ``flowrun.plugin``."""
    found = set()
    for node in _tree(path, top_level_only, type_checking):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "flowrun")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                node.module.split(".")[0] == "flowrun":
            subs = {f"{node.module}.{a.name}" for a in node.names}
            found.update(subs & known_modules().keys())
            if not subs <= known_modules().keys():
                found.add(node.module)
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[0] == "plugins":  # plugins/NAME/PACKAGE/... is the module PACKAGE...
        parts = parts[2:]
    return ".".join(parts).removesuffix(".__init__")


@cache
def known_modules() -> dict[str, Path]:
    """Every module of flowrun and of the shipped plugins, by name."""
    paths = [*PACKAGE.rglob("*.py"),
             *(p for p in ROOT.glob("plugins/*/*/**/*.py") if "tests" not in p.parts)]
    return {module_name(p): p for p in paths}


def part_of(path: Path) -> str | None:
    """The part ``path`` belongs to: the one naming it most precisely."""
    where = str(path.relative_to(ROOT))
    found = [(len(prefix), part) for part, prefixes in PARTS.items() for prefix in prefixes
             if where == prefix or (prefix.endswith("/") and where.startswith(prefix))]
    return max(found)[1] if found else None


def imported_modules(name: str) -> set[str]:
    """The flowrun modules ``name`` imports, anywhere in it, resolved to files."""
    found = set()
    for module in flowrun_imports(known_modules()[name], type_checking=True):
        while module and module not in known_modules():
            module = module.rpartition(".")[0]
        if module and module != name:
            found.add(module)
    return found


def plugin_modules() -> list[Path]:
    files = {p for folder in PLUGIN_FOLDERS for p in (PACKAGE / folder).rglob("*.py")}
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
    others = {m for m in flowrun_imports(path, type_checking=True)
              if m != "flowrun.plugin" and not m.startswith("flowrun.plugin.")
              and m != package and not m.startswith(package + ".")}
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


API_MODULES = sorted(p for p in (PACKAGE / "plugin").glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", API_MODULES, ids=_ids)
def test_the_api_modules_stand_only_on_the_ground_floor_and_each_other(path):
    bad = {m for m in imported_modules(module_name(path))
           if m not in FLOOR and not m.startswith("flowrun.plugin.")}
    assert not bad, f"{_ids(path)} imports {sorted(bad)}: the plugin API is a floor"


def test_the_api_package_loads_its_parts_from_the_floor_only():
    import flowrun.plugin as api

    lazy = {module for module, _ in api._LAZY.values()}
    assert {m for m in lazy if not m.startswith("flowrun.plugin.")} <= FLOOR | {"flowrun.config"}
    assert flowrun_imports(PACKAGE / "plugin" / "__init__.py") - {"flowrun"} <= FLOOR


FOUNDATION = ["errors.py", "model.py", "model_dicts.py", "stash.py", "hookspecs.py",
              "hashing.py", "context.py", "schemas/__init__.py"]


@pytest.mark.parametrize("name", FOUNDATION)
def test_foundation_modules_import_only_the_foundation(name):
    found = flowrun_imports(PACKAGE / name) - FLOOR
    assert found == set(), f"{name} imports {sorted(found)}"


@pytest.mark.parametrize("never", sorted(NEVER), ids="->".join)
def test_no_part_imports_a_part_it_must_never_import(never):
    wrong = [f"{_ids(path)} -> {_ids(known_modules()[target])}"
             for name, path in sorted(known_modules().items()) if part_of(path) == never[0]
             for target in sorted(imported_modules(name))
             if part_of(known_modules()[target]) == never[1]]
    assert not wrong, f"{NEVER[never]}: {wrong}"


def test_every_module_belongs_to_a_part():
    loose = [_ids(p) for p in known_modules().values()
             if part_of(p) is None and p.name != "__init__.py"]
    assert loose == [], "add these to PARTS"


def test_no_import_cycle_runs_through_the_plugin_api():
    graph = {name: imported_modules(name) for name in known_modules()}
    for start in (n for n in graph if n.startswith("flowrun.plugin")):
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            assert module != start, f"an import cycle runs through {start}"
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])


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
