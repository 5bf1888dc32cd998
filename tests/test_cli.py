"""The command: plugins, the store, history/logs, exit codes, output modes, signals."""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

from flowrun.testing import flowrun_command

FLOW = """
    from flowrun import task
    @task
    def hello():
        print("hello from the task")
        return "hi"
"""


def test_version_is_printed_fast():
    out = subprocess.run(flowrun_command("--version"), capture_output=True, text=True,
                         check=True)
    assert out.stdout.startswith("flowrun ")


def test_unknown_executor_is_a_usage_error(project):
    project.write("flows/flow_a.py", FLOW)
    result = project.run("--executor", "warp")
    assert result.exit_code == 4
    assert "unknown executor 'warp' (available:" in result.output
    assert "thread" in result.output


def test_unknown_option_is_a_usage_error(project):
    result = project.run("--no-such-option")
    assert result.exit_code == 4
    assert "No such option '--no-such-option'" in result.output
    assert "Usage: flowrun [OPTIONS]" in result.output


def test_unknown_plugin_is_a_usage_error(project):
    project.write("flows/flow_a.py", FLOW)
    result = project.run("-p", "no_such_plugin_module")
    assert result.exit_code == 4
    assert "plugin 'no_such_plugin_module' not found" in result.output


def test_blocking_the_terminal_reporter_silences_it(project):
    project.write("flows/flow_a.py", FLOW)
    result = project.run("-p", "no:terminal")
    assert result.exit_code == 0
    assert result.output == ""
    assert result.status("flows/flow_a.py::hello") == "succeeded"


def test_plugin_loaded_with_p_adds_an_option_and_sees_tasks(project):
    project.write("myplugin.py", """
        from flowrun import hookimpl
        @hookimpl
        def flowrun_addoption(parser):
            parser.addoption("--shout", is_flag=True)
        @hookimpl
        def flowrun_configure(config):
            if config.getoption("shout"):
                config.pluginmanager.register(Shouter(), "shouter")
        class Shouter:
            @hookimpl
            def flowrun_task_finish(self, task):
                print(f"FINISHED {task.task_id.upper()}")
    """)
    project.write("flows/flow_a.py", FLOW)
    result = project.run("-p", "myplugin", "--shout")
    assert result.exit_code == 0, result.output
    assert "FINISHED FLOWS/FLOW_A.PY::HELLO" in result.output


def test_flowconf_is_loaded_as_a_local_plugin_and_can_wrap_attempts(project):
    project.write("flowconf.py", """
        from flowrun import hookimpl
        @hookimpl(wrapper=True)
        def flowrun_task_call(call):
            print("before", call.task_id)
            result = yield
            return result * 2
    """)
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef n(): return 21\n")
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_a.py::n") == 42
    assert result.captured("flows/flow_a.py::n")["stdout"] == "before flows/flow_a.py::n\n"


def test_broken_flowconf_is_one_clear_error(project):
    project.write("flowconf.py", "import nowhere_to_be_found\n")
    result = project.run()
    assert result.exit_code == 4
    assert "flowconf.py: error while importing: ModuleNotFoundError" in result.output


def test_store_option_and_env(project, tmp_path):
    project.write("flows/flow_a.py", FLOW)
    result = project.run("--store", str(tmp_path / "elsewhere.db"))
    assert result.exit_code == 0
    assert (tmp_path / "elsewhere.db").exists() and not project.store.exists()
    result = project.run(env={"FLOWRUN_STORE": "memory:"})
    assert result.exit_code == 0 and not project.store.exists()


def test_store_folder_and_file_are_private(project):
    project.write("flows/flow_a.py", FLOW)
    project.run()
    assert stat.S_IMODE(os.stat(project.store.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(project.store).st_mode) == 0o600


def test_history_then_logs_with_the_printed_run_id(project):
    project.write("flows/flow_a.py", FLOW)
    project.run()
    history = project.run("history")
    assert history.exit_code == 0
    run_id = history.lines[1].split()[0]
    assert "flows/flow_a.py" in history.lines[1] and "succeeded" in history.lines[1]
    logs = project.run("logs", run_id[:6], "hello")
    assert logs.exit_code == 0
    assert "hello from the task" in logs.output
    as_json = json.loads(project.run("history", "--json").output)
    assert as_json[0]["id"] == run_id and as_json[0]["counts"] == {"succeeded": 1}


def test_unknown_run_id_is_one_clear_error(project):
    project.write("flows/flow_a.py", FLOW)
    project.run()
    result = project.run("logs", "zzzz")
    assert result.exit_code == 1  # the command could not do it; the usage was right
    assert result.output.strip() == "ERROR: no run 'zzzz' in the store " + \
        f"sqlite:///{project.store}"


def test_verbose_prints_a_line_per_task_and_quiet_prints_less(project):
    project.write("flows/flow_a.py", FLOW)
    verbose = project.run("-v")
    assert any(line.startswith("flows/flow_a.py::hello SUCCEEDED") for line in verbose.lines)
    quiet = project.run("-q")
    assert "session starts" not in quiet.output
    assert quiet.lines[-1].startswith("1 succeeded in ")


def test_failure_section_shows_captured_output(project):
    project.write("flows/flow_f.py", """
        import logging, sys
        from flowrun import task
        @task
        def noisy():
            print("to stdout")
            print("to stderr", file=sys.stderr)
            logging.getLogger("etl").error("to the log")
            raise KeyError("missing")
    """)
    result = project.run()
    assert result.exit_code == 1
    out = result.output
    assert "FAILURES" in out and "_ flows/flow_f.py::noisy _" in out
    for section, text in (("stdout", "to stdout"), ("stderr", "to stderr"),
                          ("log", "to the log")):
        assert f" Captured {section} " in out and text in out
    assert "FAILED flows/flow_f.py::noisy - KeyError: 'missing'" in out
    assert "\x1b[" not in out  # not a TTY: no colour


def test_capture_keeps_parallel_tasks_apart(project):
    names = [f"t{i}" for i in range(8)]
    body = "\n".join(f"""
@task
def {n}():
    for i in range(200):
        print("{n}", i)
        time.sleep(0)
""" for n in names)
    project.write("flows/flow_p.py", "import time\nfrom flowrun import task\n" + body)
    result = project.run("-n", "8")
    assert result.exit_code == 0
    for n in names:
        out = result.captured(f"flows/flow_p.py::{n}")["stdout"].splitlines()
        assert out == [f"{n} {i}" for i in range(200)]


def test_ctrl_c_interrupts_the_run_with_exit_2(project):
    project.write("flows/flow_slow.py", """
        import time
        from flowrun import task
        @task
        def first():
            print("started", flush=True)
            time.sleep(1.5)
            return 1
        @task
        def second(first): return first
    """)
    proc = project.popen()
    deadline = time.time() + 20
    while not (project.path / ".flowrun" / "flowrun.db").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, out + err
    assert "Traceback" not in err
    from flowrun.testing import Result
    result = Result(proc.returncode, out, err, project.store)
    assert result.runs()[-1]["status"] == "interrupted"
    assert result.status("flows/flow_slow.py::first") == "succeeded"  # it was let finish
    assert result.status("flows/flow_slow.py::second") == "cancelled"
    assert "interrupted" in out.splitlines()[-1]


def test_log_level_from_the_environment(project):
    project.write("flows/flow_l.py", """
        import logging
        from flowrun import task
        @task
        def chatty():
            logging.getLogger("etl").debug("debug detail")
            raise RuntimeError("x")
    """)
    assert "debug detail" not in project.run().output
    assert "debug detail" in project.run(env={"FLOWRUN_LOG_LEVEL": "debug"}).output
