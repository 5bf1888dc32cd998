"""``python -m flowrun.worker``: runs attempts for the process and SSH executors.

Both ends of the wire live here, so they cannot drift apart. The worker prints a ready
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
import struct
import subprocess
import sys
import tempfile
import threading
from typing import IO, Any, Callable

from flowrun import __version__, capture
from flowrun.model import FAILED
from flowrun.runner import Call, Outcome, run_attempt

MARKER = b"FLOWRUN-WORKER-READY"
PYTHON = "%d.%d" % sys.version_info[:2]
_LEN = struct.Struct(">Q")


# -- frames ----------------------------------------------------------------------------

def write_frame(stream: IO[bytes], message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LEN.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next message, or None at EOF."""
    head = stream.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    size = _LEN.unpack(head)[0]
    payload = stream.read(size)
    if len(payload) < size:
        return None
    return pickle.loads(payload)


# -- the worker side -------------------------------------------------------------------

def _kill_group() -> None:
    """Kill this worker and whatever its attempt started (same process group)."""
    try:
        os.killpg(os.getpid(), signal.SIGKILL)
    finally:
        os._exit(1)


def _read_commands(stream: IO[bytes], calls: queue.SimpleQueue) -> None:
    while True:
        try:
            message = read_frame(stream)
        except Exception:  # noqa: BLE001 - a broken stream is the same as EOF
            message = None
        if message is None or message[0] == "kill":
            _kill_group()
        calls.put(message)


class _LogHandler(logging.Handler):
    """Keeps the log records of the running attempt (the worker runs one at a time)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter(capture.LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + "\n")


class _Worker:
    def __init__(self, frames_out: IO[bytes], spare_fd: int) -> None:
        self.out = frames_out
        self.spare_fd = spare_fd  # where fd 1 and 2 point between attempts
        self.files = (tempfile.TemporaryFile(), tempfile.TemporaryFile())
        self.fns: dict[int, Any] = {}
        self.log = _LogHandler()
        logging.getLogger().addHandler(self.log)
        level = os.environ.get("FLOWRUN_LOG_LEVEL") or os.environ.get("LOG_LEVEL")
        if level:
            logging.getLogger().setLevel(level.upper())

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
        return self._captured(call)

    def _captured(self, call: Call) -> Outcome:
        for f in self.files:
            f.seek(0)
            f.truncate()
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.files[0].fileno(), 1)
        os.dup2(self.files[1].fileno(), 2)
        self.log.lines = []
        try:
            outcome = run_attempt(call)
        finally:
            for stream in (sys.stdout, sys.stderr):
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
        return pickle.loads(blob)
    except Exception as exc:  # noqa: BLE001 - kept, and raised for every call of it
        return exc


def _read_all(f: Any) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    """``--cwd DIR``: work in DIR if it exists here (the SSH executor passes its own
    directory: with shared file systems, relative paths then mean the same thing).
    ``--log-level L``: what ``FLOWRUN_LOG_LEVEL`` is on the coordinator."""
    args = sys.argv[1:] if argv is None else argv
    options = dict(zip(args[::2], args[1::2]))
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
    threading.Thread(target=_read_commands, args=(frames_in, calls), daemon=True).start()
    while True:
        message = calls.get()
        if message[0] == "call":
            write_frame(frames_out, ("outcome", worker.run_call(*message[1:])))


# -- the coordinator side --------------------------------------------------------------

class Link:
    """The coordinator's end of one worker process (local, or ``ssh HOST python ...``).

    ``send`` may be called before the worker is ready; the call is written once the
    marker arrived. ``on_outcome(link, job, outcome)`` and ``on_exit(link, job)`` are
    called from the link's reader thread.
    """

    def __init__(self, argv: list[str], on_outcome: Callable, on_exit: Callable, *,
                 keep_stderr: bool = False, prepare: Callable[[], str | None] | None = None,
                 tag: Any = None) -> None:
        self.argv, self.on_outcome, self.on_exit = argv, on_outcome, on_exit
        self.prepare, self.tag = prepare, tag  # tag: whatever the executor needs back
        self.lock = threading.Lock()
        self.job: Any = None
        self.ready = self.killed = self.retired = False
        self.error: str | None = None  # why the worker could not start
        self.stderr = tempfile.TemporaryFile() if keep_stderr else None
        self.proc: subprocess.Popen | None = None
        self.sent: set[int] = set()  # function keys this worker already holds
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        """Start the worker (off the scheduler's thread: ssh may take a while), read its
        outcomes, and report its end."""
        if self.prepare is not None:
            self.error = self.prepare()
        with self.lock:
            if self.error is None and not self.killed:
                self.proc = subprocess.Popen(
                    self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=self.stderr, start_new_session=True)
        if self.proc is not None:
            self._read()
        with self.lock:
            job, self.job = self.job, None
        try:
            self.on_exit(self, job)
        finally:
            if self.stderr is not None:
                self.stderr.close()

    def send(self, job: Any, fn_key: int, fn_blob: bytes, call_blob: bytes) -> None:
        with self.lock:
            self.job = job
            job.wire = (fn_key, fn_blob, call_blob)
            if self.ready:
                self._write(job)

    def _write(self, job: Any) -> None:
        key, blob, call_blob = job.wire
        job.wire = None
        first = key not in self.sent
        self.sent.add(key)
        try:
            write_frame(self.proc.stdin, ("call", key, blob if first else None, call_blob))
        except (BrokenPipeError, ValueError, OSError):
            pass  # the worker is gone; the reader thread reports it

    def _read(self) -> None:
        stream = self.proc.stdout
        if self._handshake(stream):
            while (message := _safe_read(stream)) is not None:
                with self.lock:
                    job, self.job = self.job, None
                self.on_outcome(self, job, message[1])
        self._reap()

    def _handshake(self, stream: IO[bytes]) -> bool:
        for line in stream:
            if line.startswith(MARKER):
                parts = line.split()
                version, python = parts[1].decode(), parts[2].decode()
                if version != __version__ or python != PYTHON:
                    self.error = (f"the worker has flowrun {version} on Python {python}, "
                                  f"this is flowrun {__version__} on Python {PYTHON}: "
                                  "install the same versions there")
                    self.kill()
                    return False
                with self.lock:
                    self.ready = True
                    if self.job is not None and self.job.wire is not None:
                        self._write(self.job)
                return True
        return False

    def _reap(self) -> None:
        try:  # the group may hold the attempt's children; the zombie keeps the pid ours
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        with self.lock:
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except (OSError, ValueError):
                    pass

    def exit_reason(self) -> str:
        code = self.proc.returncode if self.proc is not None else None
        return f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"

    def stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        lines = _read_all(self.stderr).strip().splitlines()
        return lines[-1].strip() if lines else ""

    def kill(self, grace: float = 1.0) -> None:
        """Stop the worker: kill frame, close its stdin, SIGTERM its group, SIGKILL after
        ``grace`` seconds (the worker kills its own group on EOF long before)."""
        with self.lock:
            if self.killed:
                return
            self.killed = True
            if self.proc is None:
                return  # not started: _run sees ``killed`` and does not start it
            try:
                os.set_blocking(self.proc.stdin.fileno(), False)
                self.proc.stdin.write(_LEN.pack(len(_KILL)) + _KILL)
                self.proc.stdin.close()
            except (OSError, ValueError):
                pass
        self.signal(signal.SIGTERM)
        timer = threading.Timer(grace, self.signal, (signal.SIGKILL,))
        timer.daemon = True
        timer.start()

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def wait(self, timeout: float) -> None:
        """Wait until the worker is reaped (SIGKILL after ``timeout``)."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.signal(signal.SIGKILL)
            self.thread.join(timeout)


_KILL = pickle.dumps(("kill",))


class Packer:
    """Pickles calls for workers: each function once (a worker keeps what it got), and
    flow modules and the project's own helper modules by value, because a worker (and
    certainly a remote host) cannot import them."""

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
            self._register_project_modules()
            entry = (next(self.keys), cloudpickle.dumps(call.fn, pickle.HIGHEST_PROTOCOL))
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


def _safe_read(stream: IO[bytes]) -> Any:
    try:
        return read_frame(stream)
    except Exception:  # noqa: BLE001 - a truncated frame: the worker died mid-write
        return None


if __name__ == "__main__":
    sys.exit(main())
