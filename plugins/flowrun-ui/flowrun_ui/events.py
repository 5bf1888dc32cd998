"""Live updates from the store itself, so runs started by cron or another terminal show
too: one thread asks its own store what changed a few times a second (for SQLite,
``PRAGMA data_version``: one tiny query when nothing did) and fans ``event: run`` /
``event: task`` messages out to every open ``/events`` stream."""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, AsyncIterator

from flowrun.plugin import RUNNING, LiveStore

from flowrun_ui.views import run_json, task_event

POLL = 0.2          # seconds between looks at the store
RECHECK_EVERY = 10  # looks: how often running runs' processes are checked
HEARTBEAT = 15.0    # seconds of silence before a comment keeps proxies from closing


class Hub:
    def __init__(self, state: Any) -> None:
        self.state = state
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runs: dict[str, tuple] = {}     # run id -> what was last sent
        self._tasks: dict[tuple, tuple] = {}  # (run id, task id, attempt) -> the same
        self._done: set[str] = set()          # runs whose final status was sent

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="flowrun-ui-events",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            _put(loop, queue, None)

    async def stream(self) -> AsyncIterator[str]:
        """The text of one ``/events`` response, until the server stops."""
        loop, queue = asyncio.get_running_loop(), asyncio.Queue()
        entry = (loop, queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            yield "retry: 2000\n: connected\n\n"
            while not self._stop.is_set():
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT)
                except asyncio.TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            with self._lock:
                self._subscribers.discard(entry)

    # -- the watching thread -----------------------------------------------------------

    def _watch(self) -> None:
        store = self.state.open_store()
        try:
            if isinstance(store, LiveStore):
                self._watch_live(store)
        finally:
            store.close()

    def _watch_live(self, store: Any) -> None:
        cursor, _, _ = store.changes(None)
        looks = 0
        while not self._stop.wait(POLL):
            looks += 1
            try:
                cursor, runs, reports = store.changes(cursor, looks % RECHECK_EVERY == 0)
            except Exception:  # noqa: BLE001 - a busy or briefly locked store: look again
                continue
            for message in self._messages(runs, reports):
                self._send(message)

    def _messages(self, runs: list[Any], reports: list[Any]) -> list[str]:
        """New states only, in order: runs that began, then tasks, then runs that
        ended. A run first seen already finished is sent as running first, so every
        run's ``running`` and final status each arrive."""
        tasks = []
        for report in reports:
            key = (report.run_id, report.task_id, report.attempt)
            seen = (str(report.status), report.started, report.finished)
            if report.run_id not in self._done and self._tasks.get(key) != seen:
                self._tasks[key] = seen
                tasks.append(_event("task", task_event(report)))
        began, ended = [], []
        for run in runs:
            if not run.counts:  # running: counted from the attempts seen so far
                run.counts = self._counts(run.id)
            data = run_json(run)
            seen = (data["status"], data["ended"], tuple(sorted(data["counts"].items())))
            if self._runs.get(run.id) == seen:
                continue
            if run.id not in self._runs and data["status"] != RUNNING:
                began.append(_event("run", {**data, "status": RUNNING, "ended": None,
                                            "duration": None}))
            self._runs[run.id] = seen
            (began if data["status"] == RUNNING else ended).append(_event("run", data))
        self._forget({run.id for run in runs if run.status != RUNNING})
        return began + tasks + ended

    def _counts(self, run_id: str) -> dict[str, int]:
        newest: dict[str, tuple[int, str]] = {}
        for (rid, task_id, attempt), seen in self._tasks.items():
            if rid == run_id and attempt >= newest.get(task_id, (-1, ""))[0]:
                newest[task_id] = (attempt, seen[0])
        counts: dict[str, int] = {}
        for _, status in newest.values():
            counts[status] = counts.get(status, 0) + 1
        return counts

    def _forget(self, finished: set[str]) -> None:
        """Finished runs are not looked at again: drop their tasks' memory (a row of
        theirs read again is not news)."""
        if finished:
            self._done |= finished
            self._tasks = {k: v for k, v in self._tasks.items() if k[0] not in finished}

    def _send(self, message: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            _put(loop, queue, message)


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


def _put(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue, item: Any) -> None:
    try:
        loop.call_soon_threadsafe(queue.put_nowait, item)
    except RuntimeError:  # that stream's loop has closed
        pass
