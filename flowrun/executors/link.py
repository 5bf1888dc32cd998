"""The coordinator's end of one worker process, shared by the process and SSH executors."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
from typing import IO, Any, Callable

from flowrun.plugin.wire import KILL_FRAME, MARKER, PYTHON, safe_read_frame, write_frame
from flowrun.plugin import __version__


class Link:
    """The coordinator's end of one worker process (local, or ``ssh HOST python ...``).

    ``send`` may be called before the worker is ready; the call is written once the
    marker arrived. ``on_outcome(link, job, outcome)``, ``on_request(link, job,
    message)`` (the running task's ``submit()``, ``flowrun.plugin.children``) and
    ``on_exit(link, job)`` are called from the link's reader thread.
    """

    def __init__(self, argv: list[str], on_outcome: Callable, on_exit: Callable, *,
                 on_request: Callable | None = None, keep_stderr: bool = False,
                 prepare: Callable[[], str | None] | None = None, tag: Any = None,
                 capture_dir: str | None = None) -> None:
        self.argv, self.on_outcome, self.on_exit = argv, on_outcome, on_exit
        self.capture_dir = capture_dir  # where a local worker keeps the attempt's output
        self.on_request = on_request
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

    def reply(self, message: Any) -> None:
        """Answer the running task (a child it waits for); dropped if the worker is gone."""
        with self.lock:
            if self.proc is None or self.killed:
                return
            try:
                write_frame(self.proc.stdin, message)
            except (BrokenPipeError, ValueError, OSError):
                pass

    def _read(self) -> None:
        stream = self.proc.stdout
        if self._handshake(stream):
            while (message := safe_read_frame(stream)) is not None:
                if message[0] != "outcome":
                    if self.on_request is not None:
                        self.on_request(self, self.job, message)
                    continue
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
                self.proc.stdin.write(KILL_FRAME)
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


def _read_all(f: Any) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def worker_options(config: Any) -> list[str]:
    """What a worker must know of the session: ``max_output_size`` and ``-s``."""
    options = ["--max-output", str(config.setting("max_output_size"))]
    return options + (["--no-capture", "1"] if config.getoption("no_capture") else [])
