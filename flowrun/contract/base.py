"""What every executor-suite test stands on: the executor's arguments, a project set
up for it, and ``self.flowrun(project, ...)`` to run flowrun there with them."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # only for the annotations below
    from flowrun.testing import Project, Result


class ExecutorSuiteBase:
    """The fixtures and helpers of ``ExecutorSuite`` (see its docstring)."""

    #: Command-line arguments selecting the executor, e.g. ``["--executor", "mine"]``.
    #: Leave it None and define an ``executor_args`` fixture instead when the arguments
    #: depend on a running service (a cluster's address, an sshd's config file).
    executor_args: Any = None

    @pytest.fixture(autouse=True)
    def _executor_under_test(self, request: pytest.FixtureRequest, project: Project) -> None:
        args = self.executor_args
        if not isinstance(args, (list, tuple)):
            try:
                args = request.getfixturevalue("executor_args")
            except LookupError:  # pytest's FixtureLookupError
                pytest.fail(f"{type(self).__name__}: set executor_args = [...] (the "
                            "arguments selecting your executor) or define an "
                            "executor_args fixture", pytrace=False)
        self._args = [str(arg) for arg in args]
        self.prepare_project(project)

    def prepare_project(self, project: Project) -> None:
        """Override to set up each test's project before it runs: write a
        ``flowconf.py`` that registers your plugin, or a ``flowrun.toml`` your executor
        reads (the suite's own config is appended to that file, never replaces it)."""

    def flowrun(self, project: Project, *args: str, **kwargs: Any) -> Result:
        """``flowrun ARGS`` in-process in ``project``, on the executor under test."""
        return project.run(*self._args, *args, **kwargs)

    def configure(self, project: Project, toml: str) -> None:
        """Add ``toml`` to the project's ``flowrun.toml``, keeping what is there:
        its top-level keys go first, its tables last (TOML puts a key after a table
        header into that table)."""
        path = project.path / "flowrun.toml"
        lines = toml.splitlines(keepends=True)
        first_table = next((i for i, line in enumerate(lines)
                            if line.lstrip().startswith("[")), len(lines))
        before = path.read_text() if path.exists() else ""
        if before and not before.endswith("\n"):
            before += "\n"
        path.write_text("".join(lines[:first_table]) + before + "".join(lines[first_table:]))
