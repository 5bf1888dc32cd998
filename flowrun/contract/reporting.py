"""Executor suite, the reporter's side (``flowrun.hookspecs``, "Threads"): whatever
thread an executor finishes attempts on, the task events reach reporters one at a time
and with read-only snapshots that never change afterwards."""
from __future__ import annotations

import json

from flowrun.contract.base import ExecutorSuiteBase

#: A reporter that notes what the hookspecs promise it: no two task events at once,
#: reports it cannot change and that nobody changes after the call.
WATCHING_REPORTER = '''
import dataclasses, json, threading, time
from flowrun.plugin import hookimpl


class Watch:
    def __init__(self):
        self.busy = threading.Lock()
        self.calls = self.overlaps = self.refused = 0
        self.kept = []

    def event(self, task):
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            self.busy.acquire()
        try:
            self.calls += 1
            self.kept.append((task, dataclasses.astuple(task)))
            try:
                task.status = "changed by a reporter"
            except AttributeError:
                self.refused += 1
            time.sleep(0.002)  # the window an overlapping call would fall in
        finally:
            self.busy.release()

    @hookimpl
    def flowrun_task_start(self, task):
        self.event(task)

    @hookimpl
    def flowrun_task_finish(self, task):
        self.event(task)

    @hookimpl
    def flowrun_session_finish(self, session):
        changed = sum(dataclasses.astuple(task) != seen for task, seen in self.kept)
        with open("watched_events.json", "w") as out:
            json.dump({"calls": self.calls, "overlaps": self.overlaps,
                       "refused": self.refused, "changed": changed}, out)


@hookimpl
def flowrun_configure(config):
    config.pluginmanager.register(Watch(), "watching-reporter")
'''


class ReportingSemantics(ExecutorSuiteBase):
    """Reporters see the same events, the same way, wherever tasks run."""

    def test_task_events_are_serialized_snapshots(self, project):
        project.write("watching_reporter.py", WATCHING_REPORTER)
        project.write("flows/flow_w.py", """
            from flowrun import task
            @task(retries=1)
            def flaky(context):
                if context.attempt == 1:
                    raise RuntimeError("once")
                return list(range(8))
            @task(each="flaky")
            def square(flaky): return flaky * flaky
            @task
            def total(square): return sum(square)
            @task
            def then(total): return total + 1
        """)
        result = self.flowrun(project, "-p", "watching_reporter", "-n", "4")
        assert result.exit_code == 0, result.output
        seen = json.loads((project.path / "watched_events.json").read_text())
        assert seen["calls"] >= 2 * 12  # a start and a finish per attempt, at least
        assert seen["overlaps"] == 0, "two task events ran at once"
        assert seen["refused"] == seen["calls"], "a reporter could change its report"
        assert seen["changed"] == 0, "a report changed after its event"
