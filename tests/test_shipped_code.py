"""Code shipped by value to workers keeps its file name, its line numbers and its source
lines, whatever cloudpickle version packed it (3.1 names such code ``<dynamic-code>``)."""
from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import pytest
import sshd

from flowrun.plugin.wire import load_function

HELPER = """
    import logging


    def check(n):
        logging.getLogger("helper").warning("checking %s", n)
        if n > 1:
            raise ValueError(f"too big: {n}")
"""

#: Before failing, the task overwrites the files on disk: a worker must show the lines
#: it was sent (a remote host has no such files), not read them.
FLOW = """
    import logging, pathlib
    from flowrun import task
    import helper_check

    @task
    def boom():
        logging.getLogger("etl").warning("about to fail")
        for path in pathlib.Path(__file__).parent.glob("*.py"):
            path.write_text("# not the code that ran\\n" * 20)
        helper_check.check(3)
"""

PACK = """
import importlib, sys
from flowrun.plugin.attempt import Call
from flowrun.plugin.wire import Packer
folder, module, name = sys.argv[1:]
sys.path.insert(0, folder)
fn = getattr(importlib.import_module(module), name)
call = Call(task_id="t", flow_id="f", run_id="r", attempt=1, fn=fn, kwargs={})
sys.stdout.buffer.write(Packer(folder).pack(call)[1])
"""


def packed_elsewhere(module: Path, name: str) -> bytes:
    """The function blob of ``module.name`` as another process packs it."""
    return subprocess.run([sys.executable, "-c", PACK, str(module.parent), module.stem,
                           name], check=True, capture_output=True).stdout


def test_a_function_packed_in_another_process_keeps_its_file_and_lines(tmp_path):
    module = tmp_path / "helper_nested.py"
    module.write_text(textwrap.dedent("""
        def outer(n):
            def inner():
                raise ValueError(f"bad {n}")
            return inner()
    """).lstrip())
    blob = packed_elsewhere(module, "outer")
    module.unlink()  # what this process shows comes from the blob
    outer = load_function(blob)
    assert outer.__code__.co_filename == str(module)
    with pytest.raises(ValueError) as info:
        outer(3)
    text = "".join(traceback.format_exception(info.value))
    assert f'File "{module}", line 4, in outer\n    return inner()\n' in text
    assert f'File "{module}", line 3, in inner\n    raise ValueError(f"bad {{n}}")\n' in text


def test_only_the_lines_of_the_shipped_code_travel(tmp_path):
    module = tmp_path / "helper_lines.py"
    module.write_text("SECRET = 'not sent'\n\n\ndef shipped():\n    return 1\n")
    lines, _ = pickle.loads(packed_elsewhere(module, "shipped"))
    assert lines == {str(module): {4: "def shipped():\n", 5: "    return 1\n"}}


@pytest.fixture(params=["process", "ssh"])
def remote(request: pytest.FixtureRequest) -> list[str]:
    """Command-line arguments for an executor whose workers are other processes."""
    if request.param == "process":
        return ["--executor", "process"]
    if sshd.why_unavailable() is not None:
        pytest.skip(sshd.why_unavailable())
    return request.getfixturevalue("ssh_executor_args")


def test_a_failing_task_shows_the_flow_files_lines_from_the_worker(project, remote):
    flow = project.write("flows/flow_x.py", FLOW)
    helper = project.write("flows/helper_check.py", HELPER)
    result = project.run(*remote)
    assert result.exit_code == 1, result.output
    failures = result.output.partition("FAILURES")[2]
    assert f'File "{flow}", line 10, in boom\n    helper_check.check(3)\n' in failures
    assert (f'File "{helper}", line 7, in check\n'
            f'    raise ValueError(f"too big: {{n}}")\n') in failures
    assert "not the code that ran" not in failures
    log = result.captured("flows/flow_x.py::boom")["log"]
    assert "etl:flow_x.py:7 about to fail" in log
    assert "helper:helper_check.py:5 checking 3" in log


def test_a_failing_child_and_subflow_task_show_their_files_lines(project, remote):
    child = project.write("flows/flow_parent.py", """
        from flowrun import task, submit, run_flow

        def fetch(n):
            if n:
                raise KeyError(f"no row {n}")

        @task
        def parent():
            submit(fetch, 0).result()
            run_flow("flow_sub.py")
    """)
    sub = project.write("flows/flow_sub.py", """
        from flowrun import task

        @task
        def inner():
            raise ValueError("inside the subflow")
    """)
    result = project.run(*remote, "flows/flow_parent.py")
    assert result.exit_code == 1, result.output
    failures = result.output.partition("FAILURES")[2]
    assert f'File "{sub}", line 5, in inner\n    raise ValueError("inside the subflow")' \
        in failures
    assert result.status("flows/flow_parent.py::parent::fetch[0]") == "succeeded"
    assert result.status("flows/flow_parent.py::parent::flow_sub::inner") == "failed"
    project.write("flows/flow_parent.py", child.read_text().replace(
        "submit(fetch, 0)", "submit(fetch, 1)"))
    result = project.run(*remote, "flows/flow_parent.py")
    failures = result.output.partition("FAILURES")[2]
    assert f'File "{child}", line 5, in fetch\n    raise KeyError(f"no row {{n}}")' \
        in failures
