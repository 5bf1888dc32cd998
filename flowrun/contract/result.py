"""``Result``: what a test reads of one flowrun invocation (exit code, output, and the
store, through the ``Storage`` interface only), and ``StoreAccess``, which opens that
store the way the invocation did. ``flowrun.testing`` re-exports both."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from flowrun.errors import redact_url
from flowrun.model import TASK_STATUSES, Report, Run
from flowrun.plugin.storage import Storage

STORE = os.path.join(".flowrun", "flowrun.db")
SQLITE = "sqlite:///"


class Result:
    """The outcome of one ``flowrun`` invocation, and the store it wrote.

    Everything it reads back goes through the ``Storage`` interface, on the store the
    invocation itself used (so a third-party store answers exactly as it did to flowrun).
    ``store`` is the SQLite file's path (for tests of the file itself); ``access`` opens
    the store (default: that file, with the plugins of its project); ``made`` and
    ``before`` tell this invocation's runs apart (default: every run is).
    """

    def __init__(self, exit_code: int, stdout: str, stderr: str, store: Path,
                 access: StoreAccess | None = None, made: set[str] | None = None,
                 before: frozenset[str] = frozenset()) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.output = stdout + stderr
        self.lines = self.output.splitlines()
        self.store = store
        self.access = access or StoreAccess.for_file(store)
        self._made = made  # ids of the runs this invocation started (None: unknown)
        self._before = before  # ids of the runs already stored before it

    def __repr__(self) -> str:
        return f"<Result exit_code={self.exit_code}>\n{self.output}"

    def storage(self) -> contextlib.AbstractContextManager[Storage | None]:
        """``with result.storage() as store:`` the invocation's store, opened afresh
        (None if it was never created)."""
        return self.access.open()

    def _runs(self) -> list[Run]:
        with self.storage() as store:
            return [] if store is None else list(reversed(store.list_runs()))

    def _is_new(self, run: Run) -> bool:
        return (self._made is None or run.id in self._made) and run.id not in self._before

    def runs(self) -> list[dict[str, Any]]:
        """Every run in the store, oldest first."""
        return [{"id": r.id, "flow": r.flow_id, "status": r.status,
                 "resumed_from": r.resumed_from, "error": r.error} for r in self._runs()]

    def new_runs(self) -> list[dict[str, Any]]:
        """The runs this invocation made, oldest first."""
        new = {r.id for r in self._runs() if self._is_new(r)}
        return [run for run in self.runs() if run["id"] in new]

    def reports(self, task_id: str | None = None,
                with_results: bool = False) -> list[Report]:
        """Every attempt the runs of this invocation recorded (of ``task_id`` only, if
        given), in the order they were recorded."""
        with self.storage() as store:
            if store is None:
                return []
            runs = [r for r in reversed(store.list_runs()) if self._is_new(r)]
            return [a for r in runs for a in store.attempts(r.id, with_results)
                    if task_id is None or a.task_id == task_id]

    def _final(self, task_id: str, with_results: bool = False) -> Report | None:
        """The task's last attempt in the newest run (of any invocation) that has it."""
        with self.storage() as store:
            for run in [] if store is None else store.list_runs():
                found = [a for a in store.attempts(run.id, with_results)
                         if a.task_id == task_id]
                if found:
                    return max(found, key=lambda a: a.attempt)
        return None

    def _recorded(self, task_id: str, with_results: bool = False) -> Report:
        report = self._final(task_id, with_results)
        if report is None:
            known = sorted({a.task_id for a in self.reports()} | self._all_task_ids())
            raise KeyError(f"{task_id!r} was never recorded{did_you_mean(task_id, known)}")
        return report

    def _all_task_ids(self) -> set[str]:
        with self.storage() as store:
            if store is None:
                return set()
            return {a.task_id for run in store.list_runs() for a in store.attempts(run.id)}

    def status(self, task_id: str) -> str:
        """The task's status in the newest run that has it; ``KeyError`` (with a "did
        you mean") for an id no run recorded."""
        return self._recorded(task_id).status

    def attempts(self, task_id: str) -> int:
        """How many attempts the task made in the newest run that has it."""
        return self._recorded(task_id).attempt

    def assert_outcomes(self, **expected: int) -> None:
        """As pytester's: the final statuses of this invocation's tasks, counted, equal
        ``expected`` (``succeeded=3, failed=1``; a status not given must be 0)."""
        unknown = set(expected) - set(TASK_STATUSES)
        if unknown:
            raise TypeError(f"assert_outcomes: no status {sorted(unknown)[0]!r} "
                            f"(statuses: {', '.join(TASK_STATUSES)})")
        counts = {status: 0 for status in TASK_STATUSES if status not in ("pending",
                                                                          "running")}
        for status in self.statuses().values():
            counts[status] = counts.get(status, 0) + 1
        wanted = {status: expected.get(status, 0) for status in counts}
        assert counts == wanted, f"outcomes {counts} != expected {wanted}"

    def result(self, task_id: str) -> Any:
        """The task's stored result, rebuilt."""
        from flowrun.plugin import results

        report = self._recorded(task_id, with_results=True)
        return results.loads(report.result, report.result_format)

    def captured(self, task_id: str) -> dict[str, str]:
        """The task's captured stdout, stderr and log, its error and its reason."""
        r = self._recorded(task_id)
        return {"stdout": r.stdout or "", "stderr": r.stderr or "", "log": r.log or "",
                "error": r.error or "", "reason": r.reason or ""}

    def statuses(self) -> dict[str, str]:
        """task id -> final status, for the runs this invocation made."""
        return {a.task_id: a.status for a in self.reports()}


class StoreAccess:
    """Opens a store through the ``flowrun_make_storage`` hook of a flowrun config:
    the invocation's own config for in-process runs, else one made as ``flowrun
    history`` in the project would make it."""

    def __init__(self, root: Path, url: str | None = None, config: Any = None,
                 args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.root, self.url, self.config = root, url, config
        self._args, self._env = args, env or {}

    @classmethod
    def for_file(cls, store: Path) -> StoreAccess:
        """A SQLite file's store, read with the plugins of the project it sits in."""
        root = store.parent.parent if store.parent.name == ".flowrun" else store.parent
        return cls(root, f"{SQLITE}{store}")

    def _configure(self) -> None:
        from flowrun.cli.main import CommandContext

        with in_project(self.root, self._env):
            factory = CommandContext(list(self._args))
            self.config = factory.make({"store": store_arg(self._args)})
            self.url = self.url or self.config.store_url

    def exists(self) -> bool:
        """False for a SQLite store whose file was never made (reading must not make
        it: an invocation that stored nothing leaves no file behind)."""
        if self.url is None:
            self._configure()
        assert self.url is not None
        return not self.url.startswith(SQLITE) or os.path.exists(self.url[len(SQLITE):])

    @contextlib.contextmanager
    def open(self) -> Iterator[Storage | None]:
        if not self.exists():
            yield None
            return
        if self.config is None:
            self._configure()
        storage = self.config.hook.flowrun_make_storage(url=self.url, config=self.config)
        if storage is None:
            raise AssertionError(f"no store plugin handles {redact_url(self.url)!r}")
        try:
            yield storage
        finally:
            storage.close()

    def run_ids(self) -> frozenset[str]:
        with self.open() as store:
            return frozenset() if store is None else frozenset(r.id for r in
                                                               store.list_runs())



def did_you_mean(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def store_arg(args: tuple[str, ...]) -> str | None:
    """The ``--store`` value on a command line, if any."""
    for i, arg in enumerate(args):
        if arg == "--store" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--store="):
            return arg.partition("=")[2]
    return None


@contextlib.contextmanager
def in_project(root: Path, env: dict[str, str]) -> Iterator[None]:
    """Run flowrun code as if started in ``root`` with ``env``; afterwards forget the
    modules it imported from the project (flows, helpers, flowconf), so the next run
    imports them afresh, and keep libraries loaded."""
    saved_modules, saved_path, saved_cwd = dict(sys.modules), list(sys.path), os.getcwd()
    with environ(env):
        try:
            os.chdir(root)
            yield
        finally:
            os.chdir(saved_cwd)
            sys.path[:] = saved_path
            for name in set(sys.modules) - set(saved_modules):
                path = getattr(sys.modules.get(name), "__file__", None) or ""
                if name.startswith("flowrun_flows") or path.startswith(str(root)):
                    del sys.modules[name]


@contextlib.contextmanager
def environ(changes: dict[str, str]) -> Any:
    saved = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
