"""Big results by reference on the process and SSH executors (API section 4, simpleflow's jumbo
fields): a result over ``result_file_threshold`` is written once, by the worker, into
the store's content-addressed result files; only its ref crosses the pipes, downstream
process tasks read it there, and the store's guarantees hold."""
from __future__ import annotations

import pytest
import sshd

needs_sshd = pytest.mark.skipif(sshd.why_unavailable() is not None,
                                reason=str(sshd.why_unavailable()))

SIZE = 20_000_000

FLOW = f"""
    from flowrun import task

    @task
    def make():
        return b"z" * {SIZE}

    @task(each={{"i": [1, 2, 3, 4]}})
    def use(make, i):
        return len(make) + i

    @task(executor="thread")
    def here(make):
        return len(make)
"""


def _io() -> int:
    from flowrun.plugin.wire import traffic  # frames this process sent and received

    return traffic["sent"] + traffic["received"]


def test_a_large_result_crosses_no_pipe_and_downstream_workers_read_it(project):
    project.write("flows/flow_big.py", FLOW)
    before = _io()
    result = project.run("--executor", "process", "-v")
    moved = _io() - before
    assert result.exit_code == 0, result.output
    assert [result.result(f"flows/flow_big.py::use[{i}]") for i in range(4)] == [
        SIZE + 1, SIZE + 2, SIZE + 3, SIZE + 4]
    assert result.result("flows/flow_big.py::here") == SIZE  # a thread task reads it too
    assert moved < 100_000, moved  # refs and small results only: the 20 MB crossed no pipe
    files = [p for p in (project.path / ".flowrun" / "results").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].stat().st_size > SIZE
    db = project.path / ".flowrun" / "flowrun.db"
    assert db.stat().st_size < SIZE  # the bytes live in the file only


def test_resume_reuses_a_large_result_a_worker_stored(project):
    project.write("flows/flow_big.py", FLOW.replace("return len(make) + i",
                                                    "assert i != 3 or open('fixed')\n"
                                                    "        return len(make) + i"))
    first = project.run("--executor", "process")
    assert first.exit_code == 1
    (project.path / "fixed").write_text("")
    resumed = project.run("--executor", "process", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.status("flows/flow_big.py::make") == "cached"
    assert resumed.result("flows/flow_big.py::use[2]") == SIZE + 3


SSH_FLOW = f"""
    from flowrun import task

    @task(hosts=["h1"])
    def make():
        return b"z" * {SIZE}

    @task(each={{"i": [1, 2, 3, 4]}}, hosts=["h1"])
    def use(make, i):
        return len(make) + i

    @task(hosts=["h2"])
    def elsewhere(make):
        return len(make)
"""


@needs_sshd
def test_ssh_keeps_a_large_result_on_its_host_and_fetches_it_once(project,
                                                                   ssh_executor_args):
    import glob

    project.write("flows/flow_big.py", SSH_FLOW)
    caches = set(glob.glob("/tmp/flowrun-results-*"))
    before = _io()
    result = project.run(*ssh_executor_args, "-v")
    moved = _io() - before
    assert result.exit_code == 0, result.output
    assert [result.result(f"flows/flow_big.py::use[{i}]") for i in range(4)] == [
        SIZE + 1, SIZE + 2, SIZE + 3, SIZE + 4]
    assert result.result("flows/flow_big.py::elsewhere") == SIZE
    # the four tasks on h1 read h1's cache; only the task on h2 got the bytes sent
    assert SIZE < moved < SIZE + 200_000, moved
    files = [p for p in (project.path / ".flowrun" / "results").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].stat().st_size > SIZE  # fetched once, durable
    assert set(glob.glob("/tmp/flowrun-results-*")) == caches  # the host's cache is gone


@needs_sshd
def test_resume_after_ssh_reuses_the_fetched_large_result(project, ssh_executor_args):
    project.write("flows/flow_big.py", SSH_FLOW.replace(
        "return len(make) + i", "assert i != 3 or open('fixed')\n        return len(make) + i"))
    assert project.run(*ssh_executor_args).exit_code == 1
    (project.path / "fixed").write_text("")
    resumed = project.run(*ssh_executor_args, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.status("flows/flow_big.py::make") == "cached"
    assert resumed.result("flows/flow_big.py::use[2]") == SIZE + 3
