"""The SSH executor against a real sshd on 127.0.0.1 (see ``sshd.py``): two host
aliases, an unreachable one, sshd killed mid-run, and nothing left behind."""
from __future__ import annotations

import sys
import uuid

import pytest
import sshd

SSH = ("--executor", "ssh")
pytestmark = pytest.mark.skipif(sshd.why_unavailable() is not None,
                                reason=str(sshd.why_unavailable()))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = sshd.SSHServer(tmp_path_factory.mktemp("sshd")).start()
    yield running
    running.stop()


def configure(project, server, hosts='["h1", "h2"]', tag=None):
    """Point the project at ``server``; remote workers carry ``tag`` in their env."""
    tag = tag or uuid.uuid4().hex
    project.write("flowrun.toml", f"""
        [ssh]
        hosts = {hosts}
        config = "{server.ssh_config}"
        python = "env FLOWRUN_TEST_TAG={tag} {sys.executable}"
    """)
    return tag


def run(project, tag, *args, **env):
    return project.run(*SSH, *args, env={"FLOWRUN_TEST_TAG": tag, **env})


def test_tasks_spread_over_both_host_aliases(project, server):
    tag = configure(project, server)
    project.write("flows/helper_sum.py", "def total(xs): return sum(xs)\n")
    project.write("flows/flow_s.py", """
        import os, time
        from flowrun import task
        import helper_sum
        @task(each={"i": [1, 2, 3, 4]})
        def where(i):
            time.sleep(0.2)
            return os.environ["SSH_CONNECTION"]
        @task
        def total(where): return [len(set(where)), helper_sum.total([1, 2, 3])]
    """)
    result = run(project, tag)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_s.py::total") == [2, 6]  # two connections used
    assert sshd.wait_until_gone(tag) == []


def test_captured_output_comes_back_with_the_result(project, server):
    tag = configure(project, server, hosts='["h1"]')
    project.write("flows/flow_o.py", """
        import logging, os
        from flowrun import task
        @task
        def talk():
            print("to stdout")
            os.system("echo from a subprocess >&2")
            logging.getLogger("etl").info("noted")
            return "done"
    """)
    result = run(project, tag, FLOWRUN_LOG_LEVEL="INFO")
    assert result.exit_code == 0, result.output
    captured = result.captured("flows/flow_o.py::talk")
    assert captured["stdout"] == "to stdout\n"
    assert captured["stderr"] == "from a subprocess\n"
    assert "INFO     etl:flow_o.py:7 noted" in captured["log"]
    assert result.result("flows/flow_o.py::talk") == "done"


def test_unreachable_host_fails_in_one_line_and_a_retry_goes_elsewhere(project, server):
    tag = configure(project, server, hosts='["h1"]')
    project.write("flows/flow_u.py", """
        from flowrun import task
        @task(retries=1, hosts=["hdead", "h1"])
        def moves(): return "made it"  # first tries hdead: first in the list, both free
        @task(hosts=["hdead"], after=[moves], run_if="done")
        def stranded(): return 1
    """)
    result = run(project, tag, "-v")
    assert result.exit_code == 1
    line = "ssh host 'hdead' unreachable: Connection refused"
    assert result.captured("flows/flow_u.py::stranded")["error"] == line
    assert result.attempts("flows/flow_u.py::moves") == 2
    assert result.result("flows/flow_u.py::moves") == "made it"
    assert "Traceback" not in result.output
    assert sshd.wait_until_gone(tag) == []


def test_timeout_kills_the_remote_worker_and_its_children(project, server):
    tag = configure(project, server, hosts='["h1"]')
    project.write("flows/flow_t.py", """
        import subprocess, time
        from flowrun import task
        @task(timeout=1, retries=1)
        def stuck(context):
            if context.attempt == 1:
                subprocess.Popen(["sleep", "60"])
                time.sleep(60)
            return context.attempt
    """)
    result = run(project, tag)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_t.py::stuck") == 2
    assert sshd.wait_until_gone(tag) == []


def test_killing_sshd_mid_run_fails_the_next_task_as_unreachable(project, tmp_path):
    own = sshd.SSHServer(tmp_path / "own-sshd").start()
    sshd.CURRENT = own  # the thread task below runs in this process and stops it
    try:
        tag = configure(project, own, hosts='["h1"]')
        project.write("flows/flow_k.py", """
            import time
            from flowrun import task
            @task
            def before(): return "ran"
            @task(executor="thread", after=[before])
            def kill_sshd():
                import sshd
                sshd.CURRENT.stop()
                time.sleep(0.2)
            @task(after=[kill_sshd])
            def after(): return "never"
        """)
        result = run(project, tag)
    finally:
        own.stop()
    assert result.status("flows/flow_k.py::before") == "succeeded"
    assert result.captured("flows/flow_k.py::after")["error"] == (
        "ssh host 'h1' unreachable: Connection refused")
    assert sshd.wait_until_gone(tag) == []


def test_a_bad_hosts_entry_is_a_usage_error(project):
    project.write("flowrun.toml", "[ssh]\nhosts = [3]\n")
    project.write("flows/flow_b.py", "from flowrun import task\n@task\ndef a(): pass\n")
    result = project.run(*SSH)
    assert result.exit_code == 4
    assert "each host is a name or" in result.output
    assert "Traceback" not in result.output
