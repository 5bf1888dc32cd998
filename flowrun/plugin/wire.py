"""The wire between the coordinator and a worker process (local or over SSH): framing,
the handshake marker, and the ``Packer`` that ships task code by value.

A frame is an 8-byte big-endian length and a pickle. Both ends import this module, so
they cannot drift apart; the worker's handshake refuses a version mismatch.
"""
from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import IO, Any

from flowrun.plugin.attempt import Call, Outcome, run_attempt

MARKER = b"FLOWRUN-WORKER-READY"
PYTHON = "%d.%d" % sys.version_info[:2]
_LEN = struct.Struct(">Q")


#: Bytes this process wrote and read as frames (benchmarks and tests read them: a big
#: result passed by reference must not show up here).
traffic = {"sent": 0, "received": 0}


def write_frame(stream: IO[bytes], message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LEN.pack(len(payload)) + payload)
    stream.flush()
    traffic["sent"] += _LEN.size + len(payload)


def read_frame(stream: IO[bytes]) -> Any:
    """The next message, or None at EOF."""
    head = stream.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    size = _LEN.unpack(head)[0]
    payload = stream.read(size)
    if len(payload) < size:
        return None
    traffic["received"] += _LEN.size + size
    return pickle.loads(payload)


def safe_read_frame(stream: IO[bytes]) -> Any:
    try:
        return read_frame(stream)
    except Exception:  # noqa: BLE001 - a truncated frame: the worker died mid-write
        return None



_KILL = pickle.dumps(("kill",))
#: A whole frame telling a worker to kill itself and its process group.
KILL_FRAME = _LEN.pack(len(_KILL)) + _KILL



class Packer:
    """Pickles calls for workers: each function once (a worker keeps what it got), and
    flow modules and the project's own helper modules by value, because a worker (and
    certainly a remote host) cannot import them; their code keeps its file names and
    source lines (``flowrun.plugin.shipping``)."""

    def __init__(self, rootdir: str) -> None:
        self.rootdir = os.path.abspath(rootdir) + os.sep
        self.fns: dict[Any, tuple[int, bytes]] = {}
        self.keys = iter(range(1 << 62))
        self.modules_seen = 0

    def pack(self, call: Call) -> tuple[int, bytes, bytes]:
        """``(function key, pickled function, pickled call without it)``; raises what
        cloudpickle raises for something that cannot be sent."""
        import copy

        import cloudpickle

        try:
            entry = self.fns.get(call.fn)
        except TypeError:  # an unhashable callable: pickled every time
            entry = None
        if entry is None:
            from flowrun.plugin.shipping import dumps_function

            ship = getattr(call.fn, "for_shipping", None)  # a spec task's type, say
            fn = ship() if ship is not None else call.fn
            self._register_project_modules()
            entry = (next(self.keys), dumps_function(fn))
            try:
                self.fns[call.fn] = entry
            except TypeError:
                pass
        light = copy.copy(call)
        light.fn = None
        return entry[0], entry[1], cloudpickle.dumps(light, pickle.HIGHEST_PROTOCOL)

    def _register_project_modules(self) -> None:
        if len(sys.modules) == self.modules_seen:
            return
        import cloudpickle

        self.modules_seen = len(sys.modules)
        for name, module in list(sys.modules.items()):
            if name == "flowrun_flows" or self._is_project_module(name, module):
                try:
                    cloudpickle.register_pickle_by_value(module)
                except ValueError:  # registered under another name than its own
                    pass

    def _is_project_module(self, name: str, module: Any) -> bool:
        path = getattr(module, "__file__", None) or ""
        return (path.startswith(self.rootdir) and "-packages" + os.sep not in path
                and name.partition(".")[0] not in ("flowrun", "__main__")
                and not name.startswith("flowrun_flows."))


# -- the worker's side of a packed call --------------------------------------------------

def load_function(blob: bytes) -> Any:
    """A function from the second part of ``Packer.pack`` (a worker keeps it by key),
    under its real file name, its source lines in ``linecache``."""
    from flowrun.plugin.shipping import loads_function

    return loads_function(blob)


def run_packed_call(fn: Any, call_blob: bytes, inputs: dict[str, Any] | None = None,
                    spawn: Any = None, captured: Any = None) -> Outcome:
    """Run the call packed in ``call_blob`` with ``fn`` (from ``load_function``);
    ``inputs`` replace arguments the coordinator left out (results by reference);
    ``spawn`` is what ``submit()`` calls there (a ``RemoteSpawner``); ``captured``
    receives the output (see ``run_attempt``)."""
    call: Call = pickle.loads(call_blob)
    call.fn = fn
    call.kwargs.update(inputs or {})
    call.spawn = spawn
    return run_attempt(call, captured)
