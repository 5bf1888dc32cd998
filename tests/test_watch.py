"""``flowrun --watch`` end to end: a real ``flowrun --watch`` process, its real watchdog
observer on a temp project, real saves. Which flows reran is read from the store."""
from __future__ import annotations

import contextlib
import queue
import signal
import textwrap
import threading
import time
from collections import Counter

import pytest

HELPERS = """
    def double(x):
        return 2 * x
"""
FLOW_A = """
    from flowrun import task
    from helpers import double

    @task
    def one():
        return 1

    @task
    def two(one):
        return double(one)
"""
FLOW_B = """
    from flowrun import task

    @task
    def b():
        return "b"
"""
WAITING = "watching for changes"


class Watch:
    """A running ``flowrun --watch``; ``cycle()`` returns the output of the next cycle."""

    def __init__(self, project, *args: str) -> None:
        self.project = project
        self.proc = project.popen("--watch", *args)
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def cycle(self, timeout: float = 30.0) -> str:
        """The lines up to the next "watching for changes"."""
        deadline = time.monotonic() + timeout
        got: list[str] = []
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no cycle ended in time; output so far:\n" +
                                     "".join(self.seen + got)) from None
            if line is None:
                raise AssertionError("flowrun --watch exited:\n" + "".join(self.seen + got)
                                     + self.proc.stderr.read())
            got.append(line)
            if WAITING in line:
                self.seen += got
                return "".join(got)

    def quiet(self, seconds: float = 0.6) -> str:
        """What it printed during ``seconds`` (expected: nothing)."""
        time.sleep(seconds)
        got = []
        with contextlib.suppress(queue.Empty):
            while True:
                got.append(self.lines.get_nowait() or "")
        return "".join(got)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode


@pytest.fixture
def watch(project):
    started: list[Watch] = []

    def start(*args: str) -> Watch:
        started.append(Watch(project, *args))
        return started[-1]

    yield start
    for w in started:
        w.stop()


def runs(project) -> dict[str, int]:
    """Runs per flow id in the store."""
    with project.storage() as store:
        return dict(Counter(r.flow_id for r in store.list_runs())) if store else {}


def statuses(project, flow: str) -> dict[str, str]:
    """Task name -> status in the flow's newest run."""
    with project.storage() as store:
        run = store.list_runs(flow=flow, limit=1)[0]
        attempts = store.attempts(run.id)
    return {a.task_id.partition("::")[2]: a.status for a in attempts}


@pytest.fixture
def two_flows(project):
    project.write("flows/helpers.py", HELPERS)
    project.write("flows/flow_a.py", FLOW_A)
    project.write("flows/flow_b.py", FLOW_B)
    return project


def test_first_run_covers_every_flow_then_waits(two_flows, watch):
    first = watch().cycle()
    assert "first run" in first and "3 succeeded" in first
    assert runs(two_flows) == {"flows/flow_a.py": 1, "flows/flow_b.py": 1}


def test_a_helper_change_reruns_only_the_flows_importing_it(two_flows, watch):
    two_flows.write("lib/units.py", "SCALE = 1\n")
    two_flows.write("flows/flow_c.py", """
        from flowrun import task
        import lib.units  # through a package folder at the rootdir

        @task
        def c():
            return lib.units.SCALE
    """)
    two_flows.write("flows/helpers.py", "from lib.units import SCALE\n" +
                    textwrap.dedent(HELPERS))
    w = watch()
    w.cycle()
    two_flows.write("lib/units.py", "SCALE = 2\n")  # a (via helpers) and c, not b
    out = w.cycle()
    assert "changed: lib/units.py" in out, w.seen
    assert runs(two_flows) == {"flows/flow_a.py": 2, "flows/flow_b.py": 1,
                               "flows/flow_c.py": 2}, "".join(w.seen)
    two_flows.write("flows/helpers.py", HELPERS.replace("2 * x", "3 * x"))  # only a
    w.cycle()
    assert runs(two_flows) == {"flows/flow_a.py": 3, "flows/flow_b.py": 1,
                               "flows/flow_c.py": 2}


def test_a_flow_change_reruns_that_flow_only(two_flows, watch):
    w = watch()
    w.cycle()
    two_flows.write("flows/flow_b.py", FLOW_B.replace('"b"', '"B"'))
    out = w.cycle()
    assert "changed: flows/flow_b.py -> rerunning flows/flow_b.py" in out
    assert "1 succeeded" in out
    assert runs(two_flows) == {"flows/flow_a.py": 1, "flows/flow_b.py": 2}


def test_a_config_change_reruns_every_flow(two_flows, watch):
    w = watch()
    w.cycle()
    (two_flows.path / "flowrun.toml").write_text("workers = 2\n")
    out = w.cycle()
    assert "every flow reruns" in out
    assert runs(two_flows) == {"flows/flow_a.py": 2, "flows/flow_b.py": 2}


def test_a_new_flow_file_runs_and_a_deleted_one_is_dropped(two_flows, watch):
    w = watch()
    w.cycle()
    two_flows.write("flows/flow_new.py", FLOW_B)
    out = w.cycle()
    assert "rerunning flows/flow_new.py" in out
    (two_flows.path / "flows/flow_b.py").unlink()
    out = w.cycle()
    assert "removed: flows/flow_b.py -> no flow affected" in out
    two_flows.write("flows/helpers.py", HELPERS.replace("2 * x", "4 * x"))
    w.cycle()
    assert runs(two_flows) == {"flows/flow_a.py": 2, "flows/flow_b.py": 1,
                               "flows/flow_new.py": 1}


def test_a_syntax_error_is_shown_and_fixing_it_reruns(two_flows, watch):
    w = watch()
    w.cycle()
    two_flows.write("flows/flow_b.py", "x = (\n")
    out = w.cycle()
    assert "ERROR collecting flows/flow_b.py" in out and "syntax error" in out
    two_flows.write("flows/flow_b.py", FLOW_B)
    out = w.cycle()
    assert "1 succeeded" in out
    assert runs(two_flows) == {"flows/flow_a.py": 1, "flows/flow_b.py": 2}


def test_rapid_saves_make_one_cycle(two_flows, watch):
    w = watch()
    w.cycle()
    for i in range(5):  # an editor saving several times within a few milliseconds
        two_flows.write("flows/flow_b.py", FLOW_B.replace('"b"', f'"b{i}"'))
        time.sleep(0.005)
    w.cycle()
    assert w.quiet(0.5) == ""
    assert runs(two_flows)["flows/flow_b.py"] == 2


def test_editing_one_task_reruns_it_and_its_downstream_reusing_the_rest(project, watch):
    project.write("flows/flow_chain.py", """
        from flowrun import task

        @task
        def extract():
            return [1, 2, 3]

        @task
        def clean(extract):
            return [x for x in extract if x > 1]

        @task
        def load(clean):
            return len(clean)

        @task
        def audit():
            return "ok"
    """)
    w = watch()
    w.cycle()
    flow = project.path / "flows/flow_chain.py"
    flow.write_text(flow.read_text().replace("x > 1", "x > 2"))
    out = w.cycle()
    assert "only task code changed (clean): 2 of 4 tasks reuse" in out
    assert statuses(project, "flows/flow_chain.py") == {
        "extract": "cached", "audit": "cached", "clean": "succeeded", "load": "succeeded"}
    flow.write_text("LIMIT = 0\n" + flow.read_text())  # module-level code: everything
    w.cycle()
    assert set(statuses(project, "flows/flow_chain.py").values()) == {"succeeded"}


def test_changes_in_ignored_places_rerun_nothing(two_flows, watch):
    (two_flows.path / "flowrun.toml").write_text('watch_ignore = ["scratch/*"]\n')
    w = watch()
    w.cycle()
    two_flows.write("flows/__pycache__/helpers.py", "x = 1\n")
    two_flows.write(".venv/lib/helpers.py", "x = 1\n")
    two_flows.write("scratch/helpers.py", "x = 1\n")
    two_flows.write("flows/data.csv", "a,b\n")
    two_flows.write("flows/unused.py", "x = 1\n")  # imported by nobody
    out = w.quiet(1.0)
    assert "rerunning" not in out
    assert runs(two_flows) == {"flows/flow_a.py": 1, "flows/flow_b.py": 1}


def test_ctrl_c_ends_watching_with_exit_0(two_flows, watch):
    w = watch()
    w.cycle()
    assert w.stop() == 0


def test_options_that_cannot_watch_are_a_usage_error(two_flows, project):
    result = project.run_subprocess("--watch", "--due")
    assert result.exit_code == 4
    assert "--watch cannot be combined with --due" in result.stderr


def test_ctrl_c_during_a_cycle_interrupts_it_and_ends_with_exit_2(project, watch):
    started = project.path / "started"
    slow = project.write("flows/flow_slow.py", f"""
        import pathlib, time
        from flowrun import task

        @task
        def slow():
            if pathlib.Path({str(started)!r} + ".go").exists():
                pathlib.Path({str(started)!r}).write_text("yes")
                time.sleep(60)
    """)
    w = watch()
    w.cycle()
    (project.path / "started.go").write_text("")
    slow.write_text(slow.read_text() + "\n# saved again\n")  # no code change: all rerun
    deadline = time.monotonic() + 20
    while not started.exists():
        assert time.monotonic() < deadline, "the rerun never started"
        time.sleep(0.02)
    w.proc.send_signal(signal.SIGINT)  # as in any run: the first waits for running
    time.sleep(0.3)                     # tasks, the second abandons them
    assert w.stop() == 2
    assert statuses(project, "flows/flow_slow.py") == {"slow": "failed"}
