"""Captured output is bounded per stream and attempt, and a task's damage to the
process's streams never reaches the report."""
from __future__ import annotations


def test_a_task_printing_megabytes_keeps_its_head_and_tail(project):
    project.write("flows/flow_loud.py", """
        import sys
        from flowrun import task

        @task
        def loud():
            print("FIRST LINE")
            for _ in range(50):
                sys.stdout.write("x" * 100_000 + "\\n")
            print("LAST LINE")
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    logs = project.run("logs", result.runs()[-1]["id"], "loud").output
    assert "FIRST LINE" in logs and "LAST LINE" in logs
    assert "characters dropped: over max_output_size" in logs
    assert len(logs) < 1.2 * 1024 * 1024


def test_a_thread_task_closing_stdout_cannot_break_the_report(project):
    project.write("flows/flow_rude.py", """
        import sys
        from flowrun import task

        @task
        def rude():
            sys.stdout.close()
            sys.stderr.close()
            return 1

        @task
        def after(rude):
            print("still here")
            return rude + 1
    """)
    result = project.run_subprocess("-v")
    assert result.exit_code == 0, result.output + result.stderr
    assert "after SUCCEEDED" in result.output and "1 succeeded" not in result.output


def test_max_output_size_bounds_process_workers_too(project):
    project.write("flowrun.toml", "max_output_size = 10000\n")
    project.write("flows/flow_loud.py", """
        import sys
        from flowrun import task

        @task
        def loud():
            print("FIRST LINE")
            sys.stdout.write("y" * 1_000_000 + "\\n")
            print("LAST LINE")
    """)
    result = project.run("--executor", "process")
    assert result.exit_code == 0, result.output
    out = result.captured("flows/flow_loud.py::loud")["stdout"]
    assert out.startswith("FIRST LINE") and out.rstrip().endswith("LAST LINE")
    assert "dropped: over max_output_size" in out and len(out) < 11_000


def test_a_thread_task_closing_fd_1_and_2_cannot_break_the_report(project):
    project.write("flows/flow_rude.py", """
        import os
        from flowrun import task

        @task
        def rude():
            os.close(1)
            os.close(2)
            return 1

        @task
        def after(rude):
            return rude + 1
    """)
    result = project.run_subprocess("-v")
    assert result.exit_code == 0, result.output + result.stderr
    assert "after SUCCEEDED" in result.output and "2 succeeded" in result.output


def test_a_task_starting_a_long_lived_child_does_not_hold_the_run_open(project):
    import time

    project.write("flows/flow_child.py", """
        import subprocess
        from flowrun import task

        @task
        def spawn():
            child = subprocess.Popen(["sleep", "30"])
            open("child.pid", "w").write(str(child.pid))
            return 1
    """)
    start = time.monotonic()
    result = project.run_subprocess(timeout=20)  # its pipes end when flowrun exits
    assert result.exit_code == 0 and time.monotonic() - start < 15
    import os
    import signal

    os.kill(int((project.path / "child.pid").read_text()), signal.SIGKILL)
