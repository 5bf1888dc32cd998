"""``ExecutorSuite``: flowrun's execution-semantics tests, for any executor."""
from __future__ import annotations

from flowrun.contract.attempts import AttemptSemantics
from flowrun.contract.children import ChildSemantics
from flowrun.contract.graph import GraphSemantics
from flowrun.contract.reporting import ReportingSemantics
from flowrun.contract.stopping import StopSemantics


class ExecutorSuite(AttemptSemantics, GraphSemantics, ChildSemantics, StopSemantics,
                    ReportingSemantics):
    """Every behaviour that must not depend on where tasks run, as pytest tests.

    flowrun runs this suite on its thread, process and SSH executors and on
    flowrun-dask; an executor plugin runs it on itself by subclassing it::

        from flowrun.testing import ExecutorSuite

        class TestMyExecutor(ExecutorSuite):
            executor_args = ["--executor", "mine"]

    or, when the arguments need a running service, with a fixture of that name::

        class TestMyExecutor(ExecutorSuite):
            @pytest.fixture
            def executor_args(self, my_cluster):
                return ["--executor", "mine", "--mine-address", my_cluster.address]

    Each test writes flow files into a fresh ``project`` (the fixture of
    ``flowrun.testing``) and runs ``flowrun`` in-process with ``executor_args`` first on
    the command line, so your plugin must load there: installed with an entry point in
    the ``flowrun`` group, named with ``-p MODULE`` in ``executor_args``, or written into
    the project by overriding ``prepare_project(project)`` (a ``flowconf.py``, or a
    ``flowrun.toml`` your executor reads; the tests add their settings to that file).

    What it checks: retries record every attempt, retry delays and backoff, exhausted
    retries, timeouts that fail an attempt without waiting for it, ``skip()`` and
    downstream skips, ``context`` ids and captured logs, flow state kept only on
    success, ``run_key`` reuse, the option hierarchy, unstorable results failing their
    task; ``run_if`` conditions, ``each=`` mapping (dynamic, empty, static, a failing
    instance, a non-list), concurrency groups and their deadlock freedom, ``-x``,
    ``fail_fast``, spec flows (``flow_*.yaml``) running in order; ``submit()`` children
    and ``run_flow()`` subflows (simpleflow's example, parallel children, nested submits
    at ``-n 1`` and ``-n 2``, a child's own exception in the parent, retried children,
    subflow parameters, ``--resume`` reusing children); and Ctrl-C (a real SIGINT to a
    real process: the first lets a task with a timeout finish, the second stops it);
    and the task events reaching reporters one at a time, as read-only snapshots.

    The children tests need ``in_process`` or ``supports_children``
    (``flowrun.plugin.Executor``); an executor with neither switches them off as below.

    A test that cannot hold on your executor can be switched off in your subclass by
    redefining it, e.g. ``test_timeout_fails_the_attempt_and_counts_for_retries = None``;
    say why in a comment.
    """
