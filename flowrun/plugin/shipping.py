"""Functions shipped by value keep their file names and source lines.

cloudpickle 3.1 names the code it pickles by value ``<dynamic-code>`` (for deterministic
pickles), so tracebacks and log records from workers would lose the flow file. Here each
code object is rebuilt on the worker under its real ``co_filename``, and the source
lines of that code travel with it into the worker's ``linecache``: a remote host shows
them without having the files. Only each code object's own lines are sent, not whole
files: Dask sends a function's blob with every attempt.
"""
from __future__ import annotations

import io
import linecache
import os
import pickle
import sysconfig
import types
from typing import Any, Callable

import cloudpickle

#: Lines by file: {path: {line number: text}}.
Lines = dict[str, dict[int, str]]

#: Where workers have the same files (installed packages, the standard library, flowrun
#: itself): code from there ships without its source.
_INSTALLED = tuple({os.path.join(sysconfig.get_paths()[key], "")
                    for key in ("stdlib", "platstdlib", "purelib", "platlib")}
                   | {os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep})


def dumps_function(fn: Any) -> bytes:
    """``fn`` pickled by cloudpickle, with the source lines of its by-value code."""
    buffer = io.BytesIO()
    pickler = _Pickler(buffer)
    pickler.dump(fn)
    return pickle.dumps((pickler.lines, buffer.getvalue()), pickle.HIGHEST_PROTOCOL)


def loads_function(blob: bytes) -> Any:
    """The function from ``dumps_function``; its source lines go into ``linecache``."""
    lines, fn_blob = pickle.loads(blob)
    remember_lines(lines)
    return pickle.loads(fn_blob)


class _Pickler(cloudpickle.Pickler):
    """cloudpickle's Pickler, but code objects come back under their own file name."""

    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.lines: Lines = {}

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is types.CodeType:
            make, args = self.dispatch_table[types.CodeType](obj)[:2]
            self._add_lines(obj)
            return _stamped, (make, args, obj.co_filename)
        return super().reducer_override(obj)

    def _add_lines(self, code: types.CodeType) -> None:
        path = code.co_filename
        if path.startswith("<") or path.startswith(_INSTALLED) or "-packages" + os.sep in path:
            return
        source = linecache.getlines(path)
        if not source:
            return
        numbers = [n for pos in code.co_positions() for n in pos[:2] if n is not None]
        last = min(max(numbers, default=code.co_firstlineno), len(source))
        numbered = self.lines.setdefault(path, {})
        for number in range(code.co_firstlineno, last + 1):
            numbered[number] = source[number - 1]


def _stamped(make: Callable[..., types.CodeType], args: tuple, filename: str
             ) -> types.CodeType:
    """Rebuild a code object (as cloudpickle would) under its real file name."""
    code = make(*args)
    return code if code.co_filename == filename else code.replace(co_filename=filename)


_known: Lines = {}  # every line this process was sent, by file


def remember_lines(lines: Lines) -> None:
    """Put shipped lines into ``linecache`` (mtime None: ``checkcache`` keeps them even
    where no such file exists); lines never sent stay blank."""
    for path, numbered in lines.items():
        known = _known.setdefault(path, {})
        known.update(numbered)
        text = ["\n"] * max(known)
        for number, line in known.items():
            text[number - 1] = line
        linecache.cache[path] = (sum(map(len, text)), None, text, path)
