"""The dask executor on real Dask clusters: results by reference, where the scheduler
address comes from, a dead address, a dying worker, loading by entry point. (flowrun's
shared semantics suite runs on it in test_dask_semantics.py.)"""
from __future__ import annotations

import os

import pytest

pytest.importorskip("flowrun_dask", reason="pip install -e plugins/flowrun-dask")
distributed = pytest.importorskip("distributed")

#: A result that notes, in a file, the pid of every process that unpickles it.
TRACKED = """
    import os
    from flowrun import task

    LOG = {log!r}

    def rebuild(data):
        with open(LOG, "a") as fh:
            fh.write(f"{{os.getpid()}}\\n")
        return Big(data)

    class Big:
        def __init__(self, data):
            self.data = data

        def __reduce__(self):
            return rebuild, (self.data,)

    @task
    def make():
        return Big(list(range(100_000)))

    @task
    def use(make):
        return len(make.data)
"""


def unpickled_in(log) -> set[int]:
    return {int(line) for line in log.read_text().split()} if log.exists() else set()


def test_results_go_worker_to_worker_never_through_flowrun(project, tmp_path):
    log = tmp_path / "unpickled.log"
    project.write("flows/flow_big.py", TRACKED.format(log=str(log)))
    result = project.run("--executor", "dask")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_big.py::use") == 100_000
    assert os.getpid() not in unpickled_in(log)
    log.unlink(missing_ok=True)
    result = project.run("--executor", "process")  # result files keep it off here too
    assert result.exit_code == 0, result.output
    assert os.getpid() not in unpickled_in(log) and unpickled_in(log)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as running:
        yield running


WHERE = """
    from flowrun import task

    @task
    def where():
        from distributed import get_worker
        return get_worker().scheduler.address
"""


@pytest.mark.parametrize("how", ["option", "env", "config"])
def test_the_scheduler_address_comes_from_option_env_or_config(project, cluster, how):
    project.write("flows/flow_where.py", WHERE)
    address = cluster.scheduler_address
    args, env = ["--executor", "dask"], {}
    if how == "option":
        args += ["--dask-address", address]
    elif how == "env":
        env["FLOWRUN_DASK_ADDRESS"] = address
    else:
        project.write("flowrun.toml", f'[dask]\naddress = "{address}"\n')
    result = project.run(*args, env=env)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_where.py::where") == address


def test_an_unreachable_scheduler_is_one_clear_line(project):
    project.write("flows/flow_where.py", WHERE)
    project.write("flowrun.toml", "[dask]\ntimeout = 1\n")
    result = project.run_subprocess("--executor", "dask", "--dask-address",
                                    "tcp://127.0.0.1:9")
    assert result.exit_code == 4
    assert "ERROR: dask executor: cannot reach tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_worker_that_dies_fails_only_its_attempt(project):
    project.write("flows/flow_die.py", """
        import os
        from flowrun import task

        @task(retries=1)
        def dies():
            os._exit(3)

        @task(after=["dies"], run_if="done")  # on the worker Dask started instead
        def fine():
            return "ok"
    """)
    project.write("flowrun.toml", "[dask]\nn_workers = 1\n")
    result = project.run_subprocess("--executor", "dask")
    assert result.exit_code == 1
    assert "dask: KilledWorker" in result.stdout
    assert "Traceback" not in result.stderr
    assert result.attempts("flows/flow_die.py::dies") == 2  # flowrun's retry, not Dask's
    assert result.status("flows/flow_die.py::fine") == "succeeded"


def test_the_plugin_loads_by_entry_point_and_can_be_blocked(project):
    project.write("flows/flow_where.py", WHERE)
    listed = project.run("--executor", "nope")
    assert "dask" in listed.stderr
    blocked = project.run("-p", "no:dask", "--executor", "dask")
    assert blocked.exit_code == 4 and "unknown executor 'dask'" in blocked.stderr


def test_a_failing_task_shows_its_flow_files_lines_from_the_worker(project):
    """What the worker shows is what it was sent: the task overwrites the file first."""
    flow = project.write("flows/flow_x.py", """
        import logging, pathlib
        from flowrun import task

        @task
        def boom():
            logging.getLogger("etl").warning("about to fail")
            pathlib.Path(__file__).write_text("# not the code that ran\\n" * 20)
            raise ValueError("boom")
    """)
    project.write("flowrun.toml", "[dask]\nn_workers = 1\n")
    result = project.run("--executor", "dask")
    assert result.exit_code == 1, result.output
    assert f'File "{flow}", line 8, in boom\n    raise ValueError("boom")\n' in result.output
    assert "not the code that ran" not in result.output
    log = result.captured("flows/flow_x.py::boom")["log"]
    assert "etl:flow_x.py:6 about to fail" in log
