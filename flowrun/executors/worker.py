"""``python -m flowrun.executors.worker``: runs attempts for the process and SSH executors.

The wire itself is ``flowrun.plugin.wire``. The worker prints a ready
marker (anything before it, e.g. what a shell rc file prints, is skipped), then reads
length-prefixed frames on stdin (calls, or a kill) and writes frames (outcomes) on a
private copy of stdout. fd 1 and 2 are moved off that stream and, during an attempt,
onto temp files, so output of C extensions and subprocesses is captured too.

A thread reads stdin all the time: a kill frame or EOF (the coordinator died, the ssh
session closed) kills the worker's whole process group, so nothing is left behind.
"""
from __future__ import annotations

import logging
import os
import pickle
import queue
import signal
import sys
import tempfile
import threading
from typing import IO, Any

from flowrun.plugin import capture
from flowrun.plugin.children import RemoteSpawner
from flowrun.plugin.wire import MARKER, PYTHON, load_function, read_frame, write_frame
from flowrun.plugin import (FAILED, Call, Outcome, ResultFile, __version__, run_attempt,
                            write_result_file)

# -- the worker side -------------------------------------------------------------------

def _kill_group() -> None:
    """Kill this worker and whatever its attempt started (same process group)."""
    try:
        os.killpg(os.getpid(), signal.SIGKILL)
    finally:
        os._exit(1)


def _read_commands(stream: IO[bytes], calls: queue.SimpleQueue, worker: _Worker) -> None:
    while True:
        try:
            message = read_frame(stream)
        except Exception:  # noqa: BLE001 - a broken stream is the same as EOF
            message = None
        if message is None or message[0] == "kill":
            _kill_group()
        if message[0] == "child":  # a child the running task waits for is final
            worker.spawner.answer(*message[1:])
        else:
            calls.put(message)


class _LogHandler(logging.Handler):
    """Keeps the log records of the running attempt (the worker runs one at a time),
    and streams each to the coordinator while ``send`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.send: Any = None
        self.fd: int | None = None  # the capture folder's log file, if there is one
        self.setFormatter(logging.Formatter(capture.LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record) + "\n"
        self.lines.append(line)
        if self.send is not None:
            self.send(("out", "log", line))
        elif self.fd is not None:
            os.write(self.fd, line.encode("utf-8", "replace"))


class _Tee:
    """``sys.stdout`` / ``sys.stderr`` during an attempt of a worker without a capture
    folder the coordinator can read (SSH): writes go on to the real stream (the capture
    file, which the outcome is read from) and each complete line is also sent to the
    coordinator at once, so what a task printed outlives its worker (a timeout, a stop
    signal, kill -9). A task printing nothing sends nothing."""

    def __init__(self, real: Any, slot: str, send: Any) -> None:
        self.real, self.slot, self.send, self.pending = real, slot, send, ""

    def write(self, text: str) -> int:
        written = self.real.write(text)
        if "\n" in text or len(self.pending) > 65536:
            head, sep, rest = (self.pending + text).rpartition("\n")
            self.send(("out", self.slot, head + sep))
            self.pending = rest
        else:
            self.pending += text
        return written

    def flush(self) -> None:
        self.real.flush()
        if self.pending:
            self.send(("out", self.slot, self.pending))
            self.pending = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class _Worker:
    def __init__(self, frames_out: IO[bytes], spare_fd: int) -> None:
        self.out = frames_out
        self.spare_fd = spare_fd  # where fd 1 and 2 point between attempts
        self.fns: dict[int, Any] = {}
        self.write_lock = threading.Lock()  # the task's submit()s write frames too
        self.spawner = RemoteSpawner(self.send)
        self.log = _LogHandler()
        folder = _settings["capture_dir"]
        if folder:  # files the coordinator reads if this worker is killed
            self.files = tuple(open(os.path.join(folder, name), "w+b")
                               for name in ("stdout", "stderr"))
            self.log.fd = os.open(os.path.join(folder, "log"),
                                  os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        else:  # lines are streamed to the coordinator instead (SSH)
            self.files = (tempfile.TemporaryFile(), tempfile.TemporaryFile())
        logging.getLogger().addHandler(self.log)
        level = os.environ.get("FLOWRUN_LOG_LEVEL") or os.environ.get("LOG_LEVEL")
        if level:
            logging.getLogger().setLevel(level.upper())

    def send(self, message: tuple) -> None:
        with self.write_lock:
            write_frame(self.out, message)

    def run_call(self, key: int, fn_blob: bytes | None, call_blob: bytes) -> Outcome:
        try:
            if fn_blob is not None:
                self.fns[key] = _loads_or_error(fn_blob)
            call: Call = pickle.loads(call_blob)
            call.fn = self.fns[key]
            if isinstance(call.fn, BaseException):
                raise call.fn
        except Exception as exc:  # noqa: BLE001 - e.g. a module missing on this host
            text = f"cannot load the task in the worker: {type(exc).__name__}: {exc}"
            return Outcome(status=FAILED, error=text, summary=text)
        _resolve_refs(call)
        call.spawn = self.spawner  # submit() and run_flow() ask the coordinator
        return _offload(self._captured(call))

    def _captured(self, call: Call) -> Outcome:
        if _settings["no_capture"]:  # -s: fd 1 and 2 stay where they are
            self.log.lines = []
            outcome = run_attempt(call)
            outcome.log = "".join(self.log.lines)
            return outcome
        for f in self.files:
            f.seek(0)
            f.truncate()
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.files[0].fileno(), 1)
        os.dup2(self.files[1].fileno(), 2)
        self.log.lines = []
        real = sys.stdout, sys.stderr
        if self.log.fd is not None:
            os.ftruncate(self.log.fd, 0)
        else:
            self.log.send = self.send
            sys.stdout, sys.stderr = _Tee(real[0], "stdout", self.send), \
                _Tee(real[1], "stderr", self.send)
        try:
            outcome = run_attempt(call)
        finally:
            sys.stdout, sys.stderr = real  # what was still pending is in the files
            self.log.send = None
            for stream in real:
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001 - the user closed or broke the stream
                    pass
            os.dup2(self.spare_fd, 1)
            os.dup2(self.spare_fd, 2)
        outcome.stdout, outcome.stderr = (_read_all(f) for f in self.files)
        outcome.log = "".join(self.log.lines)
        return outcome


def _loads_or_error(blob: bytes) -> Any:
    try:
        return load_function(blob)
    except Exception as exc:  # noqa: BLE001 - kept, and raised for every call of it
        return exc


_result_files: dict[str, Any] = {}
#: ``--max-output N`` (``max_output_size``), ``--no-capture 1`` (``-s``) and
#: ``--capture-dir DIR`` (capture files the coordinator can read after a kill).
_settings: dict[str, Any] = {"max_output": capture.DEFAULT_LIMIT, "no_capture": False,
                             "capture_dir": None}


def _offload(outcome: Outcome) -> Outcome:
    """Write a result over the threshold to the store's result files here, in the
    worker: only its ref crosses the pipe (and the store never writes it again)."""
    blob = outcome.result
    if _result_files and blob is not None and len(blob) > _result_files["threshold"]:
        outcome.result_ref = write_result_file(_result_files["folder"], blob)
        outcome.result, outcome.result_size = None, len(blob)
    return outcome


def _resolve_refs(call: Call) -> None:
    """Arguments that are results in result files are read here, not sent."""
    for name, value in call.kwargs.items():
        if isinstance(value, ResultFile):
            call.kwargs[name] = value.load()


def read_bounded(path: str, limit: int) -> str:
    """A capture file's text as ``_read_all`` reads it ("" if there is none)."""
    try:
        with open(path, "rb") as f:
            return _read_all(f, limit)
    except OSError:
        return ""


def _read_all(f: Any, limit: int | None = None) -> str:
    """The attempt's output file, its head and tail only past ``max_output_size`` (a
    task printing 100 MB never puts 100 MB in memory, on the wire or in the store)."""
    limit = limit or _settings["max_output"]
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    if size <= limit:
        return f.read().decode("utf-8", "replace")
    head = f.read(limit // 2).decode("utf-8", "replace")
    f.seek(size - limit // 2)
    tail = f.read().decode("utf-8", "replace")
    return f"{head}\n[... {size - 2 * (limit // 2)} bytes dropped: over max_output_size ...]" \
           f"\n{tail}"


def main(argv: list[str] | None = None) -> int:
    """``--cwd DIR``: work in DIR if it exists here (the SSH executor passes its own
    directory: with shared file systems, relative paths then mean the same thing).
    ``--log-level L``: what ``FLOWRUN_LOG_LEVEL`` is on the coordinator."""
    args = sys.argv[1:] if argv is None else argv
    options = dict(zip(args[::2], args[1::2]))
    _settings["max_output"] = int(options.get("--max-output") or capture.DEFAULT_LIMIT)
    _settings["no_capture"] = options.get("--no-capture") == "1"
    _settings["capture_dir"] = options.get("--capture-dir")  # (the process executor's)
    if options.get("--results-dir"):  # large results go straight to the store's files
        _result_files.update(folder=options["--results-dir"],
                             threshold=int(options.get("--result-threshold", "65536")))
    if os.path.isdir(options.get("--cwd", "")):
        os.chdir(options["--cwd"])
    if options.get("--log-level"):
        os.environ["FLOWRUN_LOG_LEVEL"] = options["--log-level"]
    try:
        os.setsid()  # our own process group, so a kill takes the attempt's children too
    except OSError:
        pass  # already a group leader (the process executor starts us that way)
    frames_in = os.fdopen(os.dup(0), "rb")
    frames_out = os.fdopen(os.dup(1), "wb")
    spare = os.dup(2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # a task reading stdin must not eat frames
    os.dup2(spare, 1)    # nor may stray prints between attempts corrupt them
    for stream in (sys.stdout, sys.stderr):  # keep print() in order with fd-level writes
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    import cloudpickle  # noqa: F401 - every call needs it; load it while nothing waits
    frames_out.write(b"\n%s %s %s\n" % (MARKER, __version__.encode(), PYTHON.encode()))
    frames_out.flush()
    worker = _Worker(frames_out, spare)
    calls: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_read_commands, args=(frames_in, calls, worker),
                     daemon=True).start()
    while True:
        message = calls.get()
        if message[0] == "call":
            worker.send(("outcome", worker.run_call(*message[1:])))


if __name__ == "__main__":
    sys.exit(main())
