"""A pytest plugin for testing flows: the ``project`` fixture.

``project`` is a temporary project directory. Write flow files into it, run ``flowrun``
(in-process for speed, or as a real subprocess where signals and exit codes matter) and
assert on what happened, read back from the store through flowrun's ``Storage`` interface::

    def test_extract_feeds_clean(project):
        project.write("flows/flow_etl.py", '''
            from flowrun import task
            @task
            def extract(): return [1, None, 2]
            @task
            def clean(extract): return [r for r in extract if r]
        ''')
        result = project.run()
        assert result.exit_code == 0
        assert result.result("flows/flow_etl.py::clean") == [1, 2]

It also carries the contract suites a plugin author reuses (see ``flowrun.contract``):
subclass ``ExecutorSuite`` to run flowrun's execution-semantics tests on your executor,
``StorageSuite`` to check your store against the ``Storage`` interface.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from flowrun.hookspecs import hookimpl
from flowrun.model import Report, Run
from flowrun.storage.interface import Storage

pytest.register_assert_rewrite("flowrun.contract")  # loaded on first use, see below

__all__ = ["Project", "Result", "StoreAccess", "FlowRunner", "project", "run_flows",
           "ExecutorSuite", "StorageSuite"]

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
                 "resumed_from": r.resumed_from} for r in self._runs()]

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
            raise KeyError(f"{task_id} was never recorded")
        return report

    def status(self, task_id: str) -> str | None:
        """The task's status in the newest run that has it (None: never recorded)."""
        report = self._final(task_id)
        return report.status if report else None

    def attempts(self, task_id: str) -> int:
        """How many attempts the task made in the newest run that has it."""
        report = self._final(task_id)
        return report.attempt if report else 0

    def result(self, task_id: str) -> Any:
        """The task's stored result, rebuilt."""
        from flowrun import results

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

        with _in_project(self.root, self._env):
            factory = CommandContext(list(self._args))
            self.config = factory.make({"store": _store_arg(self._args)})
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
            raise AssertionError(f"no store plugin handles {self.url!r}")
        try:
            yield storage
        finally:
            storage.close()

    def run_ids(self) -> frozenset[str]:
        with self.open() as store:
            return frozenset() if store is None else frozenset(r.id for r in
                                                               store.list_runs())


class _Capture:
    """Notes the config and the runs of an in-process invocation."""

    def __init__(self) -> None:
        self.config: Any = None
        self.url: str | None = None
        self.runs: set[str] = set()

    @hookimpl
    def flowrun_configure(self, config: Any) -> None:
        self.config, self.url = config, config.store_url

    @hookimpl
    def flowrun_run_start(self, run: Run) -> None:
        self.runs.add(run.id)


def _store_arg(args: tuple[str, ...]) -> str | None:
    """The ``--store`` value on a command line, if any."""
    for i, arg in enumerate(args):
        if arg == "--store" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--store="):
            return arg.partition("=")[2]
    return None


class Project:
    """A temporary flowrun project (the ``project`` fixture)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, relpath: str, text: str) -> Path:
        """Write ``text`` (dedented) to ``relpath`` under the project; return its path."""
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"))
        return target

    @property
    def store(self) -> Path:
        return self.path / STORE

    def storage(self) -> contextlib.AbstractContextManager[Storage | None]:
        """``with project.storage() as store:`` the project's store, as ``flowrun
        history`` would open it (None if it does not exist yet)."""
        return StoreAccess(self.path).open()

    def run(self, *args: str, env: dict[str, str] | None = None,
            params: dict[str, Any] | None = None,
            stubs: dict[str, Any] | None = None) -> Result:
        """Run ``flowrun ARGS`` in this process, in the project directory.

        ``params`` become ``--param K=V``; ``stubs`` maps task ids (or ``flow::task``
        suffixes such as ``"flow_sales.py::extract"``) to functions that replace those
        tasks' functions for this run only.
        """
        from flowrun.cli.main import run

        args = (*args, *(f"--param={k}={v}" for k, v in (params or {}).items()))
        capture = _Capture()
        plugins = [capture, *([_Stubs(stubs)] if stubs else [])]
        out, err = io.StringIO(), io.StringIO()
        with _in_project(self.path, env or {}):
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = run(list(args), plugins)
        if capture.config is not None:
            access = StoreAccess(self.path, capture.url, capture.config)
        else:  # a subcommand (history, show, ...): it made no runs
            access = StoreAccess(self.path, args=args, env=env)
        return Result(int(code), out.getvalue(), err.getvalue(), self._store_path(access),
                      access, made=capture.runs)

    def _store_path(self, access: StoreAccess) -> Path:
        url = access.url or ""
        return Path(url[len(SQLITE):]) if url.startswith(SQLITE) else self.store

    def popen(self, *args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """Start ``flowrun ARGS`` as a real process (for signals, kills, concurrency)."""
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        full_env.pop("FLOWRUN_STORE", None) if "FLOWRUN_STORE" not in (env or {}) else None
        return subprocess.Popen(
            [sys.executable, "-m", "flowrun", *args], cwd=self.path, env=full_env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)

    def run_subprocess(self, *args: str, env: dict[str, str] | None = None,
                       timeout: float = 120) -> Result:
        """Run ``flowrun ARGS`` as a real process and wait for it."""
        access = StoreAccess(self.path, args=args, env=env)
        before = access.run_ids()
        proc = self.popen(*args, env=env)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            raise AssertionError(f"flowrun {' '.join(args)} did not finish in {timeout}s:\n"
                                 f"{stdout}{stderr}") from None
        return Result(proc.returncode, stdout, stderr, self._store_path(access), access,
                      before=before)


@contextlib.contextmanager
def _in_project(root: Path, env: dict[str, str]) -> Iterator[None]:
    """Run flowrun code as if started in ``root`` with ``env``; afterwards forget the
    modules it imported from the project (flows, helpers, flowconf), so the next run
    imports them afresh, and keep libraries loaded."""
    saved_modules, saved_path, saved_cwd = dict(sys.modules), list(sys.path), os.getcwd()
    with _environ(env):
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

class _Stubs:
    """A plugin that swaps task functions right after collection."""

    def __init__(self, stubs: dict[str, Any]) -> None:
        self.stubs = dict(stubs)

    @hookimpl
    def flowrun_collection_modifyitems(self, config: Any, flows: list[Any]) -> None:
        for flow in flows:
            for task in flow.tasks.values():
                for key, stub in self.stubs.items():
                    if task.id == key or task.id.endswith("/" + key):
                        task.fn = stub


@contextlib.contextmanager
def _environ(changes: dict[str, str]) -> Any:
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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A temporary flowrun project with its own store (``tmp_path/.flowrun``)."""
    monkeypatch.delenv("FLOWRUN_STORE", raising=False)
    (tmp_path / "flowrun.toml").write_text("")
    return Project(tmp_path)


class FlowRunner:
    """Runs flowrun in-process on *your* project (the rootdir found from the current
    directory), with a private temporary store, so tests never touch real history."""

    def __init__(self, store: Path) -> None:
        self.store = store

    def __call__(self, *args: str, params: dict[str, Any] | None = None,
                 stubs: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None) -> Result:
        return Project(Path(os.getcwd())).run(*args, f"--store={self.store}",
                                              params=params, stubs=stubs, env=env)

@pytest.fixture
def run_flows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlowRunner:
    """Run your project's flows in-process: ``run_flows("flows/flow_sales.py",
    params={"day": "mon"}, stubs={"flow_sales.py::extract": fake_extract})``."""
    monkeypatch.delenv("FLOWRUN_STORE", raising=False)
    return FlowRunner(tmp_path / "flowrun-test.db")


def __getattr__(name: str) -> Any:
    """``ExecutorSuite`` and ``StorageSuite`` load on first use (most test sessions
    never need them)."""
    if name in ("ExecutorSuite", "StorageSuite"):
        import flowrun.contract

        return getattr(flowrun.contract, name)
    raise AttributeError(f"module 'flowrun.testing' has no attribute {name!r}")
