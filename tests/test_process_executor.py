"""The process executor with real worker processes: isolation, fd-level capture, hard
timeouts, dead workers, Ctrl-C, and nothing left behind (checked in /proc)."""
from __future__ import annotations

import os
import signal
import sys
import time
import uuid

import pytest
from sshd import wait_until_gone

from flowrun.executors.link import Link
from flowrun.plugin.wire import Packer

PROCESS = ("--executor", "process")


def tagged_run(project, *args):
    """Run with a unique tag in the environment the workers inherit; return (result, tag)."""
    tag = uuid.uuid4().hex
    return project.run(*args, env={"FLOWRUN_TEST_TAG": tag}), tag


def test_tasks_run_in_reused_worker_processes(project):
    project.write("flows/flow_p.py", """
        import os
        from flowrun import task
        @task(each={"i": list(range(6))})
        def pid(i): return os.getpid()
        @task
        def pids(pid): return pid
    """)
    result, tag = tagged_run(project, *PROCESS, "-n", "2")
    assert result.exit_code == 0, result.output
    pids = set(result.result("flows/flow_p.py::pids"))
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert wait_until_gone(tag) == []


def test_output_is_captured_at_the_file_descriptor_level(project):
    project.write("flows/helper_text.py", "GREETING = 'hi from a helper'\n")
    project.write("flows/flow_c.py", """
        import os, logging, subprocess
        from flowrun import task
        import helper_text
        @task
        def noisy():
            print(helper_text.GREETING)
            os.write(1, b"raw fd write\\n")
            subprocess.run(["sh", "-c", "echo from a subprocess; echo to stderr >&2"])
            logging.getLogger("etl").warning("careful")
            return 42
    """)
    result = project.run(*PROCESS)
    assert result.exit_code == 0, result.output
    captured = result.captured("flows/flow_c.py::noisy")
    assert captured["stdout"].splitlines() == [
        "hi from a helper", "raw fd write", "from a subprocess"]
    assert captured["stderr"] == "to stderr\n"
    assert "careful" in captured["log"]
    assert result.result("flows/flow_c.py::noisy") == 42


def test_timeout_kills_the_worker_and_its_children_and_the_retry_runs(project):
    project.write("flows/flow_t.py", """
        import subprocess, time
        from flowrun import task
        @task(timeout=0.5, retries=1)
        def stuck(context):
            if context.attempt == 1:
                subprocess.Popen(["sleep", "60"])
                time.sleep(60)
            return "second try"
    """)
    result, tag = tagged_run(project, *PROCESS)
    assert result.exit_code == 0, result.output
    assert result.attempts("flows/flow_t.py::stuck") == 2
    assert result.result("flows/flow_t.py::stuck") == "second try"
    assert wait_until_gone(tag) == []


def test_a_dead_worker_fails_only_its_attempt(project):
    project.write("flows/flow_d.py", """
        import ctypes, os
        from flowrun import task
        @task
        def exits(): os._exit(3)
        @task
        def segfaults(): ctypes.string_at(0)
        @task
        def fine(): return "ok"
    """)
    result, tag = tagged_run(project, *PROCESS, "-n", "1")
    assert result.exit_code == 1
    assert result.captured("flows/flow_d.py::exits")["error"] == "worker died (exit code 3)"
    assert result.captured("flows/flow_d.py::segfaults")["error"] == "worker died (signal 11)"
    assert result.result("flows/flow_d.py::fine") == "ok"
    assert "Traceback" not in result.output
    assert wait_until_gone(tag) == []


def test_a_process_task_mixes_with_thread_tasks(project):
    project.write("flows/flow_m.py", """
        import os
        from flowrun import task
        @task(executor="process")
        def isolated(): return os.getpid()
        @task
        def local(isolated): return [isolated, os.getpid()]
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    isolated, local = result.result("flows/flow_m.py::local")
    assert local == os.getpid() and isolated != local


def test_ctrl_c_twice_stops_the_workers(project):
    project.write("flows/flow_i.py", """
        import pathlib, time
        from flowrun import task
        @task(each={"i": [1, 2]})
        def wait(i):
            pathlib.Path(f"started-{i}").touch()
            time.sleep(60)
    """)
    tag = uuid.uuid4().hex
    proc = project.popen(*PROCESS, "-n", "2", env={"FLOWRUN_TEST_TAG": tag})
    deadline = time.monotonic() + 30
    while not (project.path / "started-1").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)  # the first lets running attempts finish (engine
    time.sleep(0.2)                  # policy, as for threads); the second abandons them
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert wait_until_gone(tag) == []


def test_the_worker_skips_what_comes_before_its_ready_marker():
    """Shell rc files print; the coordinator reads frames only after the marker."""
    noisy = ("print('welcome to the host'); import runpy; "
             "runpy.run_module('flowrun.executors.worker', run_name='__main__')")
    outcomes = []
    link = Link([sys.executable, "-c", noisy], lambda lk, job, o: outcomes.append(o),
                       lambda lk, job: None)
    packer = Packer(os.getcwd())
    from flowrun.plugin.attempt import Call

    call = Call(task_id="t", flow_id="f", run_id="r", attempt=1, fn=divmod,
                kwargs={"__args__": (7, 2)})

    class Job:
        wire = None
    link.send(Job(), *packer.pack(call))
    deadline = time.monotonic() + 20
    while not outcomes and time.monotonic() < deadline:
        time.sleep(0.01)
    link.kill()
    link.wait(5)
    assert outcomes and outcomes[0].get_value() == (3, 1)


def test_a_worker_of_another_version_is_refused_with_a_clear_line():
    fake = "print('FLOWRUN-WORKER-READY 0.0.1 3.11', flush=True); import time; time.sleep(30)"
    ended = []
    link = Link([sys.executable, "-c", fake], lambda *a: None,
                       lambda lk, job: ended.append(lk.error))
    link.wait(10)
    assert ended and "the worker has flowrun 0.0.1" in ended[0]
    assert "install the same versions there" in ended[0]


def test_classes_from_the_flow_file_cross_the_process_boundary(project):
    project.write("flows/flow_k.py", """
        from dataclasses import dataclass
        from flowrun import task
        @dataclass
        class Point:
            x: int
            y: int
        @task
        def make(): return Point(1, 2)
        @task
        def move(make): return Point(make.x + 1, make.y)
    """)
    result = project.run(*PROCESS)
    assert result.exit_code == 0, result.output
    assert vars(result.result("flows/flow_k.py::move")) == {"x": 2, "y": 2}


def test_a_task_that_cannot_be_sent_fails_in_one_line(project):
    project.write("flows/flow_l.py", """
        import threading
        from flowrun import task
        LOCK = threading.Lock()
        @task
        def locked():
            with LOCK:
                return 1
    """)
    result = project.run(*PROCESS)
    assert result.exit_code == 1
    error = result.captured("flows/flow_l.py::locked")["error"]
    assert error.startswith("cannot send the task to a worker process: TypeError")
    assert "Traceback" not in result.output


def test_a_timeout_counts_running_time_not_waiting_for_a_worker(project):
    """The engine starts the timeout clock at submit: attempts with a timeout must not
    wait in the pool's queue, so the pool lends them extra workers."""
    tasks = (os.cpu_count() or 1) + 2  # more than the pool (CPU count), within the
    if tasks > 32:                      # default -n (CPU count + 4, at most 32)
        pytest.skip("too many CPUs for the default -n to exceed the pool")
    project.write("flows/flow_w.py", f"""
        import time
        from flowrun import task
        @task(each={{"i": list(range({tasks}))}}, timeout=1.8)
        def work(i):
            time.sleep(1)
    """)
    result, tag = tagged_run(project, *PROCESS)
    assert result.exit_code == 0, result.output
    assert wait_until_gone(tag) == []
