"""How a task's result is turned into bytes for the store and back.

Strings, numbers and booleans are stored as JSON, so the common small results stay
readable with any SQLite client; everything else with pickle (protocol 5, C-fast),
falling back to cloudpickle for what plain pickle refuses (lambdas, local classes).
Containers are pickled rather than JSON-encoded on purpose: checking that a nested
structure round-trips through JSON (no tuples, only string keys) cost more per task
than all the rest of storing it (measured in tests/benchmarks/bench_results.py).
"""
from __future__ import annotations

import functools
import io
import json
import pickle
from typing import Any

JSON, PICKLE = "json", "pickle"
_quoted = json.encoder.encode_basestring_ascii  # what json.dumps does to a str
_decode = json.JSONDecoder().decode  # json.loads without its checks: ``dumps`` wrote UTF-8


class UnpicklableResult(Exception):
    """The task returned something that cannot be stored."""


def dumps(value: Any) -> tuple[bytes | None, str | None]:
    """Serialize a result; ``(None, None)`` for None, the common no-op case."""
    if value is None:
        return None, None
    kind = type(value)  # exact types: an IntEnum must come back an IntEnum
    if kind is int:  # the JSON of a scalar, without json.dumps's layers
        return int.__repr__(value).encode(), JSON
    if kind is str:
        return _quoted(value).encode(), JSON
    if kind is bool:
        return (b"true" if value else b"false"), JSON
    if kind is float:
        text = float.__repr__(value)
        return (text.encode() if text[-1].isdigit() else json.dumps(value).encode()), JSON
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), PICKLE
    except Exception:
        pass

    buffer = io.BytesIO()
    try:
        _no_files_pickler()(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    except UnpicklableResult:
        raise
    except Exception as exc:
        raise UnpicklableResult(
            f"result of type {type(value).__module__}.{type(value).__qualname__} "
            f"cannot be stored: {exc}") from None
    return buffer.getvalue(), PICKLE


@functools.cache
def _no_files_pickler() -> type:
    import cloudpickle

    class NoFiles(cloudpickle.Pickler):
        """cloudpickle, except that an open file is an error: cloudpickle would store
        its contents as a ``StringIO``, silently, and hand that to downstream tasks."""

        def reducer_override(self, obj: Any) -> Any:
            if isinstance(obj, io.IOBase):
                name = getattr(obj, "name", None)
                raise UnpicklableResult(
                    f"the result holds an open file{f' ({name!r})' if name else ''}: "
                    "return its path or its contents instead")
            return super().reducer_override(obj)

    return NoFiles


def loads(blob: bytes | None, fmt: str | None) -> Any:
    """Rebuild a result stored by ``dumps``."""
    if blob is None:
        return None
    if fmt == JSON:  # a null run of a mapped task decodes each instance's result
        if type(blob) is bytes and blob.isdigit():  # what ``dumps`` wrote of an int >= 0
            return int(blob)
        return _decode(blob.decode() if type(blob) is bytes else blob)
    return pickle.loads(blob)


# -- large results in content-addressed files ---------------------------------------------

def write_result_file(results_dir: str, blob: bytes) -> str:
    """Store ``blob`` once under ``results_dir``, named by its content (the simpleflow
    seed's jumbo fields); written, synced and renamed into place before anything refers
    to it, so a crash never leaves half a result. Returns its ref (``ab/cdef...``)."""
    import os

    from flowrun.hashing import blake2b
    from flowrun.plugin.private import make_private_dir, write_all

    digest = blake2b(blob, digest_size=20).hexdigest()
    ref = f"{digest[:2]}/{digest[2:]}"
    target = os.path.join(results_dir, ref)
    if not os.path.exists(target):
        make_private_dir(os.path.dirname(target))
        temp = f"{target}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            try:
                write_all(fd, blob)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, target)
        except BaseException:  # a full disk, say: leave no partial file behind
            if os.path.exists(temp):
                os.unlink(temp)
            raise
    return ref


class ResultFile:
    """A result that lives in a result file: what crosses a pipe instead of its bytes.

    An executor sets it as ``Outcome.ref``; a downstream task on an executor that
    ``accepts_ref`` it gets this object, and its worker ``load()``s the file itself."""

    __slots__ = ("results_dir", "ref", "fmt")

    def __init__(self, results_dir: str, ref: str, fmt: str | None) -> None:
        self.results_dir, self.ref, self.fmt = results_dir, ref, fmt

    def __getstate__(self) -> tuple:
        return self.results_dir, self.ref, self.fmt

    def __setstate__(self, state: tuple) -> None:
        self.results_dir, self.ref, self.fmt = state

    def load(self) -> Any:
        import os

        with open(os.path.join(self.results_dir, self.ref), "rb") as handle:
            return loads(handle.read(), self.fmt)
