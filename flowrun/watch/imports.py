"""Which flow files a change can affect, read from the source without importing it.

A static import graph of the project's own files: each file's ``import`` statements
(anywhere in it, even inside functions), ``run_flow("...")`` targets and, for spec
flows, their ``module:function`` references, turned into the paths they could load
under the file's folder or the rootdir. Paths that do not exist yet are kept too, so a
helper created later still counts. Files are parsed when first needed and again only
when their size or mtime changes. Dynamic imports (``importlib.import_module(name)``
with a computed name) are invisible to it.
"""
from __future__ import annotations

import ast
import os
import re

#: ``pkg.mod:function`` in a spec flow (a ``python`` task's ``function``).
SPEC_REFERENCE = re.compile(r"([A-Za-z_][\w.]*):[A-Za-z_]\w*")


class ImportGraph:
    def __init__(self, rootdir: str) -> None:
        self.rootdir = rootdir
        self._parsed: dict[str, tuple[tuple[int, int], frozenset[str]]] = {}

    def loads(self, path: str) -> frozenset[str]:
        """Every path ``path`` may load (its direct dependencies), existing or not."""
        try:
            stat = os.stat(path)
        except OSError:
            self._parsed.pop(path, None)
            return frozenset()
        key = (stat.st_mtime_ns, stat.st_size)
        cached = self._parsed.get(path)
        if cached is None or cached[0] != key:
            cached = self._parsed[path] = (key, frozenset(self._scan(path)))
        return cached[1]

    def reach(self, path: str) -> set[str]:
        """``path`` and every path it loads, directly or through local files."""
        seen = {path}
        todo = [path]
        while todo:
            for dep in self.loads(todo.pop()):
                if dep not in seen:
                    seen.add(dep)
                    if os.path.isfile(dep):
                        todo.append(dep)
        return seen

    def affected(self, flow_files: list[str], changed: set[str]) -> list[str]:
        """The flow files whose code reaches any of ``changed``."""
        return [f for f in flow_files if changed & self.reach(f)]

    # -- reading one file ---------------------------------------------------------------

    def _scan(self, path: str) -> set[str]:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return set()
        if not path.endswith(".py"):
            return {p for name in SPEC_REFERENCE.findall(text)
                    for p in self._module_paths(name, path)}
        try:
            tree = ast.parse(text, path)
        except SyntaxError:
            return set()  # shown as a collection error; rescanned once fixed
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found |= self._module_paths(alias.name, path)
            elif isinstance(node, ast.ImportFrom):
                found |= self._from_paths(node, path)
            elif isinstance(node, ast.Call) and _called_name(node) == "run_flow" \
                    and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                target = node.args[0].value
                found |= {os.path.normpath(os.path.join(base, target))
                          for base in self._bases(path)}
        return found

    def _bases(self, path: str) -> list[str]:
        """Folders imports are looked up in: the file's own (on ``sys.path`` when a flow
        is collected) and the rootdir."""
        return list(dict.fromkeys([os.path.dirname(path), self.rootdir]))

    def _module_paths(self, name: str, path: str) -> set[str]:
        """``a.b.c`` -> ``a.py``, ``a/__init__.py``, ``a/b.py``, ... under each base."""
        return {p for base in self._bases(path) for p in _dotted(base, name.split("."))}

    def _from_paths(self, node: ast.ImportFrom, path: str) -> set[str]:
        parts = node.module.split(".") if node.module else []
        if node.level:  # relative: from the file's package, up level - 1 folders
            base = os.path.dirname(path)
            for _ in range(node.level - 1):
                base = os.path.dirname(base)
            bases = [base]
        else:
            bases = self._bases(path)
        found: set[str] = set()
        for base in bases:
            found |= set(_dotted(base, parts))
            for alias in node.names:  # `from pkg import mod` may load pkg/mod.py
                found |= set(_dotted(base, [*parts, alias.name])[-2:])
        return found


def _dotted(base: str, parts: list[str]) -> list[str]:
    paths = []
    for i in range(1, len(parts) + 1):
        stem = os.path.join(base, *parts[:i])
        paths += [stem + ".py", os.path.join(stem, "__init__.py")]
    return paths


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None
