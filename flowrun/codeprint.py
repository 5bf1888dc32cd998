"""The code part of a cached task's fingerprint: the task function and everything it
uses from the project's own modules, transitively, each recorded as its own part.

A part is hashed from compiled code (bytecode, constants, names, defaults, closure
values), never from text, so a comment, a blank line or moving a function changes
nothing while any edit that changes behaviour does. Helpers are followed through the
names a function's code loads: functions, classes (their methods) and module-level
values of files under the rootdir, and attributes read from project modules
(``lib.clean(x)``). Code from outside the rootdir (the standard library, installed
packages) is not followed: upgrading a library is not a change of the project.

A value that cannot be fingerprinted (an object that does not pickle) is reported as
such, so the caller runs the task instead of caching on a partial key.
"""
from __future__ import annotations

import os
import pickle
import sys
import types
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from flowrun.hashing import blake2b

#: Bumped when what a part's digest covers changes: every code part then differs once,
#: and ``explain`` says the format changed instead of naming each helper.
FORMAT = 1


@dataclass(frozen=True)
class CodePart:
    """One function, class or module-level value a task depends on.

    ``digest`` is None when the value could not be fingerprinted (``why`` says so).
    """

    name: str          # module.qualname
    where: str         # file:line relative to the rootdir ("file" for a value)
    digest: str | None
    why: str = ""


class UnfingerprintableError(ValueError):
    """A part of a task's code could not be hashed; the task cannot be cached."""


def code_parts(fn: Callable[..., Any], rootdir: str) -> dict[str, CodePart]:
    """Every part ``fn`` depends on inside ``rootdir``, keyed by name, ``fn`` first."""
    return dict(_Walker(os.path.realpath(rootdir)).walk(fn))


def python_part() -> CodePart:
    """Bytecode differs between Python versions: the interpreter is a part too."""
    version = "%d.%d" % sys.version_info[:2]
    return CodePart("python", version, f"{version}/{FORMAT}")


class _Walker:
    def __init__(self, root: str) -> None:
        self.root = root + os.sep
        self.seen: set[int] = set()
        self.parts: list[tuple[str, CodePart]] = []
        self._inside: dict[str, bool] = {}

    def walk(self, fn: Callable[..., Any]) -> list[tuple[str, CodePart]]:
        self._function(_unwrap(fn))
        return self.parts

    # -- what is inside the project ---------------------------------------------------
    def _is_project_file(self, filename: str | None) -> bool:
        if not filename:
            return False
        inside = self._inside.get(filename)
        if inside is None:
            inside = os.path.realpath(filename).startswith(self.root)
            self._inside[filename] = inside
        return inside

    def _module_file(self, module_name: str | None) -> str | None:
        module = sys.modules.get(module_name or "")
        return getattr(module, "__file__", None) if module is not None else None

    def _where(self, filename: str, line: int | None = None) -> str:
        rel = os.path.relpath(os.path.realpath(filename), self.root)
        return f"{rel}:{line}" if line else rel

    def _add(self, part: CodePart) -> None:
        self.parts.append((part.name, part))

    # -- functions --------------------------------------------------------------------
    def _function(self, fn: types.FunctionType) -> None:
        if id(fn) in self.seen:
            return
        self.seen.add(id(fn))
        code = fn.__code__
        digest = blake2b(digest_size=16)
        _feed_code(digest, code)
        try:
            for value in (fn.__defaults__, fn.__kwdefaults__, _closure_values(fn)):
                digest.update(_value_bytes(value))
        except UnfingerprintableError as exc:
            self._add(CodePart(_name(fn), self._where(code.co_filename, code.co_firstlineno),
                               None, str(exc)))
            return
        self._add(CodePart(_name(fn), self._where(code.co_filename, code.co_firstlineno),
                           digest.hexdigest()))
        names = set(_names(code))
        self._globals(fn.__globals__, names)
        for cell_value in _closure_values(fn) or ():
            self._follow(cell_value, names)

    def _globals(self, namespace: dict[str, Any], names: set[str]) -> None:
        module = namespace.get("__name__", "")
        for name in sorted(names):
            if name in namespace:
                self._global(module, name, namespace[name], names)

    def _global(self, module: str, name: str, value: Any, names: set[str]) -> None:
        if self._follow(value, names):
            return
        if isinstance(value, (types.ModuleType, type, types.BuiltinFunctionType)) or \
                callable(value) or id(value) in self.seen:
            return  # from outside the project: not followed
        self.seen.add(id(value))
        filename = self._module_file(module)
        if not self._is_project_file(filename):
            return
        self._follow(type(value), names)  # an instance of a project class: its code too
        key = f"{module}.{name}"
        try:
            self._add(CodePart(key, self._where(filename),
                               blake2b(_value_bytes(value), digest_size=16).hexdigest()))
        except UnfingerprintableError as exc:
            self._add(CodePart(key, self._where(filename), None, str(exc)))

    def _follow(self, value: Any, names: set[str]) -> bool:
        """Follow a function, class or module of the project; False for anything else."""
        value = _unwrap(value)
        if isinstance(value, types.FunctionType):
            if self._is_project_file(value.__code__.co_filename):
                self._function(value)
            return True
        if isinstance(value, type):
            if self._is_project_file(self._module_file(value.__module__)):
                self._class(value)
            return True
        if isinstance(value, types.ModuleType):
            if self._is_project_file(getattr(value, "__file__", None)) and \
                    id(value) not in self.seen:
                self.seen.add(id(value))
                self._globals(vars(value), names)  # lib.helper: helper is in co_names
            return True
        return False

    # -- classes ----------------------------------------------------------------------
    def _class(self, cls: type) -> None:
        if id(cls) in self.seen:
            return
        self.seen.add(id(cls))
        digest = blake2b(digest_size=16)
        digest.update(repr([f"{b.__module__}.{b.__qualname__}" for b in cls.__bases__]).encode())
        methods = []
        for attr, member in sorted(vars(cls).items()):
            for fn in _functions_of(member):
                digest.update(attr.encode())
                _feed_code(digest, fn.__code__)
                methods.append(fn)
        filename = self._module_file(cls.__module__) or ""
        line = methods[0].__code__.co_firstlineno if methods else None
        self._add(CodePart(f"{cls.__module__}.{cls.__qualname__}", self._where(filename, line),
                           digest.hexdigest()))
        for fn in methods:
            names = set(_names(fn.__code__))
            self._globals(fn.__globals__, names)
        for base in cls.__bases__:
            self._follow(base, set())


def _name(fn: types.FunctionType) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _unwrap(value: Any) -> Any:
    """The function under a TaskDef (``.fn``) or a functools.wraps decorator."""
    for _ in range(20):
        inner = getattr(value, "__wrapped__", None) if isinstance(
            value, types.FunctionType) else getattr(value, "fn", None)
        if inner is None or inner is value:
            return value
        value = inner
    return value


def _functions_of(member: Any) -> Iterator[types.FunctionType]:
    if isinstance(member, (staticmethod, classmethod)):
        member = member.__func__
    if isinstance(member, property):
        yield from (f for f in (member.fget, member.fset, member.fdel)
                    if isinstance(f, types.FunctionType))
    elif isinstance(member, types.FunctionType):
        yield member


def _closure_values(fn: types.FunctionType) -> tuple[Any, ...] | None:
    if not fn.__closure__:
        return None
    values = []
    for cell in fn.__closure__:
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell (a name assigned after the function)
            values.append(None)
    return tuple(values)


def _names(code: types.CodeType) -> Iterator[str]:
    """Every global and attribute name ``code`` and its nested functions load."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _feed_code(digest: Any, code: types.CodeType) -> None:
    """Bytecode, constants and names; no line numbers, no file name."""
    digest.update(code.co_code)
    digest.update(code.co_exceptiontable)
    digest.update(repr((code.co_names, code.co_varnames, code.co_freevars,
                        code.co_cellvars, code.co_argcount, code.co_posonlyargcount,
                        code.co_kwonlyargcount, code.co_flags)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(digest, const)
        else:
            digest.update(repr(const).encode())


def _value_bytes(value: Any) -> bytes:
    """A stable encoding of a plain value; pickled otherwise (sets in sorted order)."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value).encode()
    if isinstance(value, (tuple, list)):
        return b"(" + b",".join(_value_bytes(v) for v in value) + b")"
    if isinstance(value, (set, frozenset)):
        return b"{" + b",".join(sorted(_value_bytes(v) for v in value)) + b"}"
    if isinstance(value, dict):
        return b"{" + b",".join(sorted(_value_bytes(k) + b":" + _value_bytes(v)
                                      for k, v in value.items())) + b"}"
    if isinstance(value, types.FunctionType):
        digest = blake2b(digest_size=16)
        _feed_code(digest, value.__code__)
        return digest.digest()
    if isinstance(value, (types.ModuleType, type)):
        return f"{getattr(value, '__module__', '')}.{value.__name__}".encode()
    try:
        return pickle.dumps(value, protocol=5)
    except Exception as exc:  # any user object may refuse: say which, never guess
        raise UnfingerprintableError(
            f"{type(value).__name__} object cannot be fingerprinted "
            f"({type(exc).__name__}: {exc})") from None
