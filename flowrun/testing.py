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
from typing import Any

import pytest

from flowrun.errors import UsageError
from flowrun.hookspecs import hookimpl
from flowrun.model import Run
from flowrun.storage.interface import Storage

pytest.register_assert_rewrite("flowrun.contract")  # loaded on first use, see below

__all__ = ["Project", "Result", "StoreAccess", "FlowRunner", "project", "run_flows",
           "ExecutorSuite", "StorageSuite", "INVOCATIONS", "flowrun_command"]

from flowrun.contract.result import (SQLITE, STORE, Result, StoreAccess, did_you_mean,  # noqa: E402
                                     in_project)


#: Every ``flowrun`` command line this test session ran through the harness
#: (``Project.run``, ``run_subprocess``, ``popen``, ``flowrun_command``), in order.
#: flowrun's own suite parses them at the end to find commands and options that no
#: test ran (``tests/test_command_tree.py``); appending a tuple is all it costs.
INVOCATIONS: list[tuple[str, ...]] = []


def flowrun_command(*args: str) -> list[str]:
    """The argv of a real ``flowrun ARGS`` process (``python -m flowrun ARGS``), noted in
    ``INVOCATIONS``: for tests that start the process themselves (a pty, a server)."""
    INVOCATIONS.append(tuple(args))
    return [sys.executable, "-m", "flowrun", *args]


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
        INVOCATIONS.append(tuple(args))
        capture = _Capture()
        plugins = [capture, *([_Stubs(stubs)] if stubs else [])]
        out, err = io.StringIO(), io.StringIO()
        with in_project(self.path, env or {}):
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
            flowrun_command(*args), cwd=self.path, env=full_env,
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


class _Stubs:
    """A plugin that swaps task functions right after collection. A key is a node id
    (``flows/flow_sales.py::extract``) or its short form without the folders
    (``flow_sales.py::extract``); a key that names no collected task stops the run
    (exit 4) with a "did you mean", so a typo never lets the real task run."""

    def __init__(self, stubs: dict[str, Any]) -> None:
        self.stubs = dict(stubs)

    @hookimpl
    def flowrun_collection_modifyitems(self, config: Any, flows: list[Any]) -> None:
        used: set[str] = set()
        ids = [task.id for flow in flows for task in flow.tasks.values()]
        for flow in flows:
            for task in flow.tasks.values():
                for key, stub in self.stubs.items():
                    if task.id == key or task.id.endswith("/" + key):
                        task.fn = stub
                        used.add(key)
        for key in self.stubs.keys() - used:
            raise UsageError(f"stubs: {key!r} names no collected task{did_you_mean(key, ids)}")


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
