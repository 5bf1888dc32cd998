"""Per-task capture of stdout, stderr and logging, with many tasks running in threads.

``sys.stdout`` and ``sys.stderr`` are replaced, for as long as a session runs, by
routers that send each write to the buffer of the task running in the writing thread,
and everything else (the reporter, the main thread) to the real stream. A logging
handler does the same for log records. Outside a task a router costs one attribute
lookup per write.
"""
from __future__ import annotations

import io
import logging
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

_local = threading.local()
_lock = threading.Lock()
_installed = 0
_saved: tuple = ()

LOG_FORMAT = "%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s"
#: Characters kept per stream and attempt (``max_output_size``): the head and the tail.
DEFAULT_LIMIT = 1024 * 1024
_limit = DEFAULT_LIMIT
_passthrough = False  # -s: nothing is captured; output is tagged with its task's id
_active = 0           # attempts inside ``capturing()`` now (tags appear from two on)


class Bounded:
    """A text buffer that keeps the first and the last ``limit // 2`` characters of what
    is appended, and says how much it dropped in between, so a task printing 100 MB
    costs 1 MiB of memory and of store."""

    __slots__ = ("half", "head", "head_size", "tail", "tail_size", "dropped")

    def __init__(self, limit: int | None = None) -> None:
        self.half = max(1, (limit or _limit) // 2)
        self.head: list[str] = []
        self.tail: list[str] = []
        self.head_size = self.tail_size = self.dropped = 0

    def append(self, text: str) -> None:
        if self.head_size < self.half:
            room = self.half - self.head_size
            self.head.append(text[:room])
            self.head_size += min(room, len(text))
            text = text[room:]
        if text:
            self.tail.append(text)
            self.tail_size += len(text)
            self._trim()

    def _trim(self) -> None:
        while self.tail_size - len(self.tail[0]) >= self.half:
            self.tail_size -= len(first := self.tail.pop(0))
            self.dropped += len(first)
        if self.tail_size > self.half * 2:  # one huge write: cut inside it
            cut = self.tail_size - self.half
            self.tail[0] = self.tail[0][cut:]
            self.tail_size -= cut
            self.dropped += cut

    def value(self) -> str:
        middle = f"\n[... {self.dropped} characters dropped: over max_output_size ...]\n" \
            if self.dropped else ""
        return "".join(self.head) + middle + "".join(self.tail)


def bounded(text: str, limit: int | None = None) -> str:
    """``text`` cut to ``limit`` characters the way ``Bounded`` cuts a stream."""
    buffer = Bounded(limit)
    buffer.append(text)
    return buffer.value()


class _SharedStream(io.TextIOBase):
    """What the process's streams are replaced by while a session runs: shared by every
    thread, so a task closing ``sys.stdout`` closes nothing."""

    def __init__(self, real) -> None:
        self.real = real

    def isatty(self) -> bool:
        return self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self):  # type: ignore[override]
        return getattr(self.real, "encoding", "utf-8")

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        """Closing the shared stream is a no-op."""


class _Router(_SharedStream):
    """A file object whose writes go to the current task's buffer, if there is one."""

    def __init__(self, real, slot: str) -> None:
        super().__init__(real)
        self.slot = slot

    def write(self, text: str) -> int:
        captured = getattr(_local, "captured", None)
        if captured is None:
            return self.real.write(text)
        captured.buffer(self.slot).append(text)
        return len(text)

    def flush(self) -> None:
        if getattr(_local, "captured", None) is None:
            self.real.flush()

    def isatty(self) -> bool:
        return getattr(_local, "captured", None) is None and self.real.isatty()


class _Tagger(_SharedStream):
    """``-s``: a stream that writes through at once, each line of a task's output
    prefixed with the task's id while more than one task runs."""

    def write(self, text: str) -> int:
        task = getattr(_local, "task", None)
        if task is None or _active < 2:
            if task is not None and _local.tagging.stdout is _DISCARD:
                return len(text)  # an abandoned attempt's thread prints nowhere
            return self.real.write(text)
        if _local.tagging.stdout is _DISCARD:
            return len(text)
        start = getattr(_local, "at_line_start", True)
        tagged = "".join((f"[{task}] " if start or i else "") + line
                         for i, line in enumerate(text.splitlines(keepends=True)))
        _local.at_line_start = text.endswith("\n")
        self.real.write(tagged)
        self.real.flush()
        return len(text)

    def flush(self) -> None:
        self.real.flush()


class _TaskLogHandler(logging.Handler):
    """Keeps each log record in the buffer of the task whose thread emitted it."""

    def emit(self, record: logging.LogRecord) -> None:
        captured = getattr(_local, "captured", None)
        if captured is not None:
            captured.buffer("log").append(self.format(record) + "\n")


_handler = _TaskLogHandler()
_handler.setFormatter(logging.Formatter(LOG_FORMAT))


def install(limit: int | None = None, passthrough: bool = False) -> None:
    """Route the process's output through the task buffers (re-entrant); each stream of
    an attempt keeps at most ``limit`` characters (``max_output_size``). With
    ``passthrough`` (``-s``) nothing is captured: output is printed as it comes."""
    global _installed, _saved, _limit, _passthrough
    with _lock:
        _limit = limit or _limit
        _installed += 1
        if _installed > 1:
            return
        _saved = (sys.stdout, sys.stderr)
        _passthrough = passthrough
        if passthrough:
            sys.stdout, sys.stderr = _Tagger(sys.stdout), _Tagger(sys.stderr)
        else:
            sys.stdout, sys.stderr = _Router(sys.stdout, "stdout"), _Router(sys.stderr, "stderr")
        if not passthrough:
            logging.getLogger().addHandler(_handler)


def ensure_installed() -> None:
    """Install for the rest of this process unless already installed (a worker of
    another engine, e.g. Dask, running attempts with ``run_attempt``)."""
    with _lock:
        if _installed:
            return
    install()


def uninstall() -> None:
    """Undo one ``install()``; the last one puts the real streams back."""
    global _installed, _passthrough
    with _lock:
        _installed -= 1
        if _installed or any(c.running for c in _abandoned):
            return  # an abandoned thread may still print: keep routing it away
        _passthrough = False
        sys.stdout, sys.stderr = _saved
        logging.getLogger().removeHandler(_handler)  # (not added with passthrough: a no-op)


class Captured:
    """The text a task attempt wrote: ``stdout``, ``stderr`` and ``log`` are strings once
    ``end()`` (or the ``capturing()`` block) is over. Until then each holds the stream's
    ``Bounded`` buffer, made on the first write, so an attempt that prints nothing
    costs one small object."""

    __slots__ = ("stdout", "stderr", "log", "_previous", "_tagging", "running")

    def __init__(self) -> None:
        self.stdout = self.stderr = self.log = None  # type: ignore[assignment]
        self._previous: Any = None  # what ``end()`` puts back
        self._tagging = self.running = False

    def buffer(self, slot: str) -> Bounded:
        buffer = getattr(self, slot)
        if buffer is None:
            buffer = Bounded()
            setattr(self, slot, buffer)
        return buffer


def begin(task_id: str | None = None, captured: Captured | None = None) -> Captured:
    """Capture what this thread writes until ``end()`` (nests: inner wins), into
    ``captured`` if given (so another thread can ``abandon()`` it); with ``-s``, tag it
    with ``task_id`` instead."""
    if _passthrough:
        return _begin_tagging(task_id, captured or Captured())
    if captured is None:
        captured = Captured()
    captured._previous = getattr(_local, "captured", None)
    captured.running = True
    _local.captured = captured
    return captured


def end(captured: Captured) -> Captured:
    """Stop the capture ``begin()`` started; its streams become strings."""
    if captured._tagging:
        _end_tagging(captured)
    else:
        _local.captured = captured._previous
    captured._previous = None
    captured.running = False
    out, err, log = captured.stdout, captured.stderr, captured.log
    captured.stdout = out.value() if out is not None else ""
    captured.stderr = err.value() if err is not None else ""
    captured.log = log.value() if log is not None else ""
    return captured


class _Discard:
    """Where an abandoned attempt's later writes go: nowhere."""

    __slots__ = ()

    def append(self, text: str) -> None:
        """Dropped."""

    def value(self) -> str:
        return ""


_DISCARD = _Discard()
_abandoned: list[Captured] = []  # given up on while their threads may still run


def abandon(captured: Captured) -> tuple[str, str, str]:
    """The attempt was given up on (a timeout, a stop signal) while its thread runs on:
    what it wrote so far, as (stdout, stderr, log). Whatever it writes from now on is
    dropped, and the process's streams stay routed while it runs, so it never reaches
    the terminal nor another attempt's output."""
    texts = tuple(_text(getattr(captured, slot)) for slot in ("stdout", "stderr", "log"))
    if not isinstance(captured.stdout, str):  # not ended: drop what comes next
        captured.stdout = captured.stderr = captured.log = _DISCARD  # type: ignore[assignment]
        with _lock:
            _abandoned[:] = [c for c in _abandoned if c.running] + [captured]
    return texts  # type: ignore[return-value]


def so_far(captured: Captured) -> tuple[str, str, str]:
    """What a running attempt has written until now, as (stdout, stderr, log): read
    from another thread (the engine's, for a live view); the attempt goes on."""
    return tuple(_text(getattr(captured, slot))  # type: ignore[return-value]
                 for slot in ("stdout", "stderr", "log"))


def _text(buffer: Any) -> str:
    return buffer if isinstance(buffer, str) else buffer.value() if buffer else ""


@contextmanager
def capturing(task_id: str | None = None) -> Iterator[Captured]:
    """``begin()`` and ``end()`` around a block."""
    captured = begin(task_id)
    try:
        yield captured
    finally:
        end(captured)


def _begin_tagging(task_id: str | None, captured: Captured) -> Captured:
    global _active
    captured._tagging, captured.running = True, True
    captured._previous = (getattr(_local, "task", None), getattr(_local, "tagging", None))
    _local.task, _local.tagging, _local.at_line_start = task_id, captured, True
    with _lock:
        _active += 1
    return captured


def _end_tagging(captured: Captured) -> None:
    global _active
    with _lock:
        _active -= 1
    _local.task, _local.tagging = captured._previous
