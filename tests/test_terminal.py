"""The terminal report as a pytest user reads it: progress that ends at 100%, the live
line on a real terminal, --durations, --collect-only -q, partitions and long output."""
from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time

import pytest

from flowrun.testing import flowrun_command

FAILING = """
    from flowrun import task

    @task
    def ok():
        return 1

    @task
    def bad(ok):
        raise ValueError("boom")
"""


def percents(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"\[\s*(\d+)%\]", output)]


def test_resume_progress_counts_only_the_runs_it_makes_and_ends_at_100(project):
    project.write("flows/flow_bad.py", FAILING)
    project.write("flows/flow_fine.py", "from flowrun import task\n@task\ndef a(): pass\n"
                  "@task\ndef b(a): pass\n@task\ndef c(b): pass\n")
    assert project.run().exit_code == 1
    project.write("flows/flow_bad.py", FAILING.replace('raise ValueError("boom")', "return 2"))
    resumed = project.run("--resume")
    assert resumed.exit_code == 0, resumed.output
    assert percents(resumed.output)[-1] == 100, resumed.output


def test_backfill_progress_never_passes_100(project):
    project.write("flows/flow_p.py", """
        from flowrun import Flow, task
        flow = Flow(partitions={"daily": "2026-11-01"})

        @task
        def a(partition):
            return partition

        @task
        def b(a):
            return a
    """)
    result = project.run("--backfill", "2026-11-01..2026-11-04", env={
        "FLOWRUN_NOW": "2026-11-05T00:00:00Z"})
    assert result.exit_code == 0, result.output
    assert max(percents(result.output)) == 100 and percents(result.output)[-1] == 100
    assert "[partition 2026-11-03]" in result.output  # each run's line names its partition


def test_mapped_instances_and_children_are_counted_as_they_appear(project):
    project.write("flows/flow_m.py", """
        from flowrun import task, submit

        @task
        def items():
            return [1, 2, 3, 4]

        @task(each="items")
        def double(items):
            return submit(lambda x: x * 2, items).result()

        @task
        def total(double):
            return sum(double)
    """)
    result = project.run("-v")
    assert result.exit_code == 0, result.output
    got = percents(result.output)
    assert got == sorted(got) and got[-1] == 100 and max(got) == 100, result.output


def test_durations_lists_the_slowest_tasks_before_the_summary_line(project):
    project.write("flows/flow_d.py", """
        import time
        from flowrun import task

        @task
        def slow():
            time.sleep(0.3)

        @task
        def slower():
            time.sleep(0.5)

        @task
        def instant():
            pass
    """)
    result = project.run("--durations", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    head = next(i for i, line in enumerate(lines) if "slowest 2 durations" in line)
    assert lines[head + 1].endswith("flows/flow_d.py::slower")
    assert lines[head + 2].endswith("flows/flow_d.py::slow")
    assert "instant" not in "\n".join(lines[head:head + 3])
    assert "succeeded in" in lines[-1]


def test_collect_only_quiet_prints_one_node_id_per_line(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): pass\n"
                  "@task\ndef b(a): pass\n")
    result = project.run("--collect-only", "-q")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[:2] == ["flows/flow_a.py::a", "flows/flow_a.py::b"]
    assert lines[2] == "" and re.fullmatch(r"2 tasks collected in \d+\.\d\ds", lines[3])


def test_long_output_of_a_failing_task_is_cut_with_a_pointer_to_flowrun_logs(project):
    project.write("flows/flow_loud.py", """
        from flowrun import task

        @task
        def loud():
            for i in range(5000):
                print(f"line {i}")
            raise ValueError("boom")
    """)
    result = project.run()
    assert result.exit_code == 1
    run_id = result.runs()[-1]["id"]
    assert f"`flowrun logs {run_id} loud` has all of it" in result.output
    assert "line 4999" in result.output and "line 10\n" not in result.output
    logs = project.run("logs", run_id, "loud")
    assert "line 10\n" in logs.output and "line 4999" in logs.output


def _read_pty(fd: int, proc: subprocess.Popen, timeout: float) -> str:
    chunks, deadline = [], time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data.decode(errors="replace"))
        elif proc.poll() is not None:
            break
    return "".join(chunks)


def test_live_line_is_redrawn_while_long_tasks_run(project):
    project.write("flows/flow_long.py", """
        import time
        from flowrun import task

        @task
        def quick():
            return 1

        @task
        def first_long(quick):
            time.sleep(2.5)

        @task
        def second_long(quick):
            time.sleep(2.5)
    """)
    primary, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    proc = subprocess.Popen(flowrun_command(), cwd=project.path, env=env,
                            stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    try:
        screen = _read_pty(primary, proc, timeout=30)
        assert proc.wait(timeout=30) == 0, screen
    finally:
        os.close(primary)
    redraws = [line for line in screen.split("\r") if "running:" in line]
    assert any("first_long" in line and "second_long" in line for line in redraws), screen
    clocks = [float(m) for line in redraws for m in re.findall(r"first_long (\d+\.\d)s", line)]
    assert len(clocks) >= 3 and clocks[-1] - clocks[0] >= 1.0, redraws  # it keeps moving


def test_resume_then_a_path_resumes_that_flow(project):
    project.write("flows/flow_bad.py", FAILING)
    project.write("flows/flow_other.py", FAILING)
    first = project.run()
    assert first.exit_code == 1
    failed_run = [r for r in first.runs() if r["flow"] == "flows/flow_bad.py"][0]["id"]
    project.write("flows/flow_bad.py", FAILING.replace('raise ValueError("boom")', "return 2"))
    for form in (["--resume", "flows/flow_bad.py"], ["flows/flow_bad.py", "--resume"],
                 [f"--resume={failed_run}", "flows/flow_bad.py"],
                 ["--resume", failed_run[:6], "flows/flow_bad.py"]):
        result = project.run(*form)
        assert result.exit_code == 0, (form, result.output)
        assert "flow_other" not in result.output, form
        assert result.runs()[-1]["resumed_from"] == failed_run, form


def test_resume_on_a_store_with_no_runs_says_so(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): pass\n")
    result = project.run("--resume")
    assert result.exit_code == 0
    assert "nothing to resume (it has no recorded run yet" in result.output


def test_a_task_returning_an_open_file_fails_clearly(project):
    project.write("flows/flow_f.py", """
        from flowrun import task

        @task
        def handle():
            return {"rows": [open(__file__)]}
    """)
    result = project.run_subprocess()  # the flow leaks the file: not in this process
    assert result.exit_code == 1
    assert "the result holds an open file" in result.output
    assert result.status("flows/flow_f.py::handle") == "failed"


def test_messages_name_types_plainly_and_never_flowrun_internals(project):
    project.write("flows/flow_p.py", """
        from flowrun import task

        @task
        def a(count: int = 3, names: list = ["x"]):
            return count
    """)
    project.write("flows/flow_spec.yaml", "tasks:\n  - key: s\n    task_type: shell\n"
                  "    task_params: {cmd: 'exit 3'}\n")
    assert "expected an int (a whole number)" in project.run(
        "--param", "count=many").output
    assert "expected a list written as JSON" in project.run("--param", "names=x,y").output
    quoted = project.run("-k", "'apple'")
    assert quoted.exit_code == 4 and "unexpected character \"'\"" in quoted.output
    failed = project.run("flows/flow_spec.yaml")
    assert "CommandFailed: command 'exit 3' exited with 3" in failed.output
    assert "flowrun." not in failed.output.replace("flowrun.toml", "")


def test_history_names_the_partition_of_partitioned_runs(project):
    project.write("flows/flow_p.py", """
        from flowrun import Flow, task
        flow = Flow(partitions={"daily": "2026-11-01"})

        @task
        def a(partition):
            return partition
    """)
    now = {"FLOWRUN_NOW": "2026-11-03T00:00:00Z"}
    assert project.run("--backfill", "2026-11-01..2026-11-02", env=now).exit_code == 0
    history = project.run("history").output.splitlines()
    assert "PARTITION" in history[0]
    assert any("2026-11-02" in line and "succeeded" in line for line in history[1:])


def test_help_and_executors_list_every_executor(project):
    project.write("flowconf.py", """
        from flowrun.plugin import hookimpl

        @hookimpl
        def flowrun_executors():
            return ["mine"]
    """)
    help_text = " ".join(project.run("--help").output.split())
    assert "thread, process, ssh" in help_text and "mine" in help_text
    listing = project.run("--executors").output.splitlines()
    assert listing[0].split() == ["thread", "built-in"]
    assert ["mine", "from", "flowconf"] in [line.split() for line in listing]


@pytest.mark.slow
def test_two_resumes_of_one_run_at_once_the_second_refuses(project):
    project.write("flows/flow_r.py", """
        import os, time
        from flowrun import task

        @task
        def slow():
            with open("ran.txt", "a") as f:
                f.write(f"{os.getpid()}\\n")
            time.sleep(1.5)
            if not os.path.exists("fixed"):
                raise ValueError("boom")
    """)
    assert project.run_subprocess().exit_code == 1
    (project.path / "ran.txt").unlink()
    (project.path / "fixed").write_text("")
    procs = [project.popen("--resume") for _ in range(4)]
    outcomes = [(p.wait(timeout=60), p.communicate()) for p in procs]
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 1, 1, 1], outcomes
    assert len((project.path / "ran.txt").read_text().splitlines()) == 1
    refused = [err for code, (_, err) in outcomes if code == 1]
    assert all("is being resumed" in err and len(err.strip().splitlines()) == 1
               for err in refused), refused


SPEAKERS = """
    import time
    from flowrun import task

    @task
    def one():
        for i in range(4):
            print(f"one says {i}", flush=True)
            time.sleep(0.15)

    @task
    def two():
        for i in range(4):
            print(f"two says {i}", flush=True)
            time.sleep(0.15)
"""


def test_dash_s_prints_task_output_live_tagged_while_several_run(project):
    project.write("flows/flow_s.py", SPEAKERS)
    result = project.run_subprocess("-s", "-q")
    assert result.exit_code == 0, result.output
    assert "[flows/flow_s.py::two] two says 2" in result.output
    assert "[flows/flow_s.py::one] one says 3" in result.output
    assert result.runs() and project.run("logs", result.runs()[-1]["id"]).output.strip() == ""


def test_dash_s_on_the_process_executor_prints_as_it_goes(project):
    project.write("flows/flow_s.py", SPEAKERS)
    result = project.run_subprocess("-s", "-q", "--executor", "process", "flows/flow_s.py::one")
    assert result.exit_code == 0, result.output
    assert "one says 3" in result.output + result.stderr


def test_pdb_opens_the_debugger_at_the_failing_frame(project):
    project.write("flows/flow_p.py", """
        from flowrun import task

        @task
        def bad():
            answer = 41
            raise ValueError("boom")
    """)
    proc = project.popen("--pdb", stdin=subprocess.PIPE)
    out, err = proc.communicate("p answer + 1\nc\n", timeout=60)
    assert proc.returncode == 1, out + err
    assert "flows/flow_p.py::bad failed: ValueError: boom" in out
    assert 'raise ValueError("boom")' in out and "(Pdb) 42" in out


def test_pdb_on_another_executor_says_it_cannot(project):
    project.write("flows/flow_p.py", "from flowrun import task\n@task\ndef a(): pass\n")
    result = project.run("--pdb", "--executor", "process")
    assert result.exit_code == 4
    assert "--pdb cannot debug tasks on the process executor" in result.output


def test_a_run_still_running_is_not_resumed(project):
    project.write("flows/flow_r.py", """
        import os, time
        from flowrun import task

        @task
        def slow():
            open("started", "w").close()
            while not os.path.exists("go"):
                time.sleep(0.02)
    """)
    proc = project.popen()
    deadline = time.monotonic() + 30
    while not (project.path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "it never started"
        time.sleep(0.02)
    try:
        with project.storage() as store:
            (run,) = store.list_runs()
        by_id = project.run("--resume", run.id, env={"FLOWRUN_HOSTNAME": "box-1"})
        assert by_id.exit_code == 1
        assert by_id.lines[-1].startswith(f"ERROR: run {run.id} of flows/flow_r.py is still "
                                          f"running on host {run.host}; wait for it")
        last = project.run("--resume")
        assert last.exit_code == 0
        assert f"flows/flow_r.py: nothing to resume (its last run {run.id} is still " \
            "running" in last.output
    finally:
        (project.path / "go").touch()
        proc.communicate(timeout=30)
    assert proc.returncode == 0
