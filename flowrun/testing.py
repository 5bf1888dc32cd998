"""A pytest plugin for testing flows: the ``project`` fixture.

``project`` is a temporary project directory. Write flow files into it, run ``flowrun``
(in-process for speed, or as a real subprocess where signals and exit codes matter) and
assert on what happened, read back from the project's real SQLite store::

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
"""
from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flowrun.hookspecs import hookimpl

STORE = os.path.join(".flowrun", "flowrun.db")


class Result:
    """The outcome of one ``flowrun`` invocation, and the store it wrote."""

    def __init__(self, exit_code: int, stdout: str, stderr: str, store: Path,
                 first_run: int = 0) -> None:
        self.exit_code = exit_code
        self.first_run = first_run  # runs with a rowid below this came from earlier calls
        self.stdout = stdout
        self.stderr = stderr
        self.output = stdout + stderr
        self.lines = self.output.splitlines()
        self.store = store

    def __repr__(self) -> str:
        return f"<Result exit_code={self.exit_code}>\n{self.output}"

    def _query(self, sql: str, *args: Any) -> list[tuple]:
        if not self.store.exists():
            return []
        with contextlib.closing(sqlite3.connect(self.store)) as conn:
            return conn.execute(sql, args).fetchall()

    def runs(self) -> list[dict[str, Any]]:
        """Every run in the store, oldest first."""
        rows = self._query("SELECT id, flow, status, resumed_from FROM runs ORDER BY rowid")
        return [dict(zip(("id", "flow", "status", "resumed_from"), r)) for r in rows]

    def _final(self, task_id: str) -> tuple | None:
        rows = self._query(
            "SELECT a.status, a.attempt, a.result, a.result_format, a.stdout, a.stderr, "
            "a.log, a.error, a.reason FROM attempts a JOIN runs r ON a.run_id = r.id "
            "WHERE a.task_id=? ORDER BY r.rowid DESC, a.attempt DESC LIMIT 1", task_id)
        return rows[0] if rows else None

    def status(self, task_id: str) -> str | None:
        """The task's status in the newest run that has it (None: never recorded)."""
        row = self._final(task_id)
        return row[0] if row else None

    def attempts(self, task_id: str) -> int:
        row = self._final(task_id)
        return row[1] if row else 0

    def result(self, task_id: str) -> Any:
        """The task's stored result, rebuilt."""
        from flowrun import results

        row = self._final(task_id)
        if row is None:
            raise KeyError(f"{task_id} was never recorded")
        return results.loads(row[2], row[3])

    def captured(self, task_id: str) -> dict[str, str]:
        row = self._final(task_id)
        if row is None:
            raise KeyError(f"{task_id} was never recorded")
        return {"stdout": row[4] or "", "stderr": row[5] or "", "log": row[6] or "",
                "error": row[7] or "", "reason": row[8] or ""}

    def statuses(self) -> dict[str, str]:
        """task id -> final status, for the runs this invocation made."""
        rows = self._query(
            "SELECT a.task_id, a.status FROM attempts a JOIN runs r ON a.run_id = r.id "
            "WHERE r.rowid >= ? ORDER BY r.rowid, a.rowid", self.first_run)
        return dict(rows)

    def new_runs(self) -> list[dict[str, Any]]:
        """The runs this invocation made."""
        rows = self._query("SELECT rowid FROM runs ORDER BY rowid")
        return [run for run, (rowid,) in zip(self.runs(), rows) if rowid >= self.first_run]


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
        plugins = [_Stubs(stubs)] if stubs else []
        first_run = self._next_run_rowid()
        out, err = io.StringIO(), io.StringIO()
        saved_modules, saved_path = dict(sys.modules), list(sys.path)
        saved_cwd = os.getcwd()
        with _environ(env or {}):
            try:
                os.chdir(self.path)
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    code = run(list(args), plugins)
            finally:
                os.chdir(saved_cwd)
                sys.path[:] = saved_path
                self._forget_project_modules(set(sys.modules) - set(saved_modules))
        return Result(int(code), out.getvalue(), err.getvalue(), self.store, first_run)

    def _next_run_rowid(self) -> int:
        if not self.store.exists():
            return 0
        with contextlib.closing(sqlite3.connect(self.store)) as conn:
            try:
                return (conn.execute("SELECT MAX(rowid) FROM runs").fetchone()[0] or 0) + 1
            except sqlite3.OperationalError:  # no schema yet
                return 0

    def _forget_project_modules(self, names: set[str]) -> None:
        """Drop the modules this run imported from the project (flows, helpers,
        flowconf), so the next run imports them afresh; keep libraries loaded."""
        root = str(self.path)
        for name in names:
            module = sys.modules.get(name)
            path = getattr(module, "__file__", None) or ""
            if name.startswith("flowrun_flows") or path.startswith(root):
                del sys.modules[name]

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
        first_run = self._next_run_rowid()
        proc = self.popen(*args, env=env)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            raise AssertionError(f"flowrun {' '.join(args)} did not finish in {timeout}s:\n"
                                 f"{stdout}{stderr}") from None
        return Result(proc.returncode, stdout, stderr, self.store, first_run)


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
        project = Project(Path(os.getcwd()))
        project_store = self.store

        class _Private(Project):
            @property
            def store(self) -> Path:  # type: ignore[override]
                return project_store

        runner = _Private(project.path)
        return runner.run(*args, f"--store={self.store}", params=params, stubs=stubs,
                          env=env)


@pytest.fixture
def run_flows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FlowRunner:
    """Run your project's flows in-process: ``run_flows("flows/flow_sales.py",
    params={"day": "mon"}, stubs={"flow_sales.py::extract": fake_extract})``."""
    monkeypatch.delenv("FLOWRUN_STORE", raising=False)
    return FlowRunner(tmp_path / "flowrun-test.db")
