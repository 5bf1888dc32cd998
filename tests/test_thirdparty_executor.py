"""A third-party executor (tests/thirdparty_executor.py, written only against
flowrun.plugin and loaded with ``-p``) passes flowrun's whole ExecutorSuite; and the
suite fails an executor that breaks the contract."""
from __future__ import annotations

from pathlib import Path

import pytest

from test_architecture import flowrun_imports

from flowrun.testing import ExecutorSuite

pytest_plugins = ["pytester"]


class TestThirdPartyExecutor(ExecutorSuite):
    executor_args = ["-p", "thirdparty_executor", "--executor", "fresh"]

    def prepare_project(self, project):  # importable by a flowrun subprocess too
        source = Path(__file__).with_name("thirdparty_executor.py").read_text()
        project.write("thirdparty_executor.py", source)


def test_it_imports_nothing_of_flowrun_but_the_plugin_api():
    assert flowrun_imports(Path(__file__).with_name("thirdparty_executor.py")) == {
        "flowrun.plugin"}


def test_it_is_unknown_without_its_plugin(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): return 1\n")
    assert project.run("--executor", "fresh").exit_code == 4
    assert project.run("-p", "thirdparty_executor", "--executor", "fresh").exit_code == 0


BROKEN = '''
import threading
from flowrun.plugin import Outcome, hookimpl

class RunsWithoutCapture:
    """Calls the function itself: no captured output, no retries' attempt numbers."""
    in_process = True

    def submit(self, call, done):
        def work():
            try:
                value = call.invoke()
                done(Outcome(status="succeeded", result=None, value=value))
            except Exception as exc:
                done(Outcome(status="failed", summary=repr(exc), error=repr(exc)))
        threading.Thread(target=work, daemon=True).start()

    def cancel(self, handle):
        return None

    def shutdown(self, wait=True):
        pass

@hookimpl
def flowrun_make_executor(name, config):
    return RunsWithoutCapture() if name == "broken" else None
'''


@pytest.mark.slow
def test_the_suite_fails_an_executor_that_skips_run_attempt(pytester):
    pytester.makepyfile(broken_executor=BROKEN, test_broken="""
        from flowrun.testing import ExecutorSuite

        class TestBroken(ExecutorSuite):
            executor_args = ["-p", "broken_executor", "--executor", "broken"]
    """)
    outcome = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-k", "retries_record or context_carries or each_maps")
    outcome.assert_outcomes(failed=3)
