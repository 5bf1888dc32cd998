"""The JUnit XML writer behind ``--junitxml`` (``flowrun.reporters.junitxml``), imported
only when the option is given: one ``testsuite`` per flow run, one ``testcase`` per task.
"""
from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
from typing import Any

from flowrun.plugin import CACHED, CANCELLED, FAILED, SKIPPED, Report, Run, UsageError, hookimpl

# Characters XML 1.0 cannot hold at all (task output may contain ANSI escapes etc.).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str | None) -> str:
    """``text`` with the characters XML cannot carry written as ``\\xNN``."""
    return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text or "")


class JunitXml:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.runs: dict[str, Run] = {}
        self.finished: dict[str, list[Report]] = {}  # run id -> final reports, in order
        self.retried: dict[tuple[str, str], list[str]] = {}  # (run, task) -> notes
        self.spent: dict[tuple[str, str], float] = {}  # (run, task) -> earlier attempts' time

    @hookimpl
    def flowrun_run_start(self, run: Run) -> None:
        self.runs[run.id] = run
        self.finished.setdefault(run.id, [])

    @hookimpl
    def flowrun_task_finish(self, task: Report) -> None:
        if task.will_retry:
            note = f"[flowrun] attempt {task.attempt} failed: {task.summary or 'failed'}"
            key = (task.run_id, task.task_id)
            self.retried.setdefault(key, []).append(note)
            self.spent[key] = self.spent.get(key, 0.0) + task.duration
            return
        snapshot = dataclasses.replace(task, result=None)  # results take memory, unused
        self.finished.setdefault(task.run_id, []).append(snapshot)

    @hookimpl
    def flowrun_session_finish(self, session: Any, exit_code: int) -> None:
        root = ET.Element("testsuites", name="flowrun")
        for run_id, reports in self.finished.items():
            root.append(self._suite(self.runs.get(run_id), run_id, reports))
        for error in session.errors:
            root.append(_error_suite(error))
        _totals(root, list(root))
        del root.attrib["skipped"]  # junit-10.xsd allows it on <testsuite> only
        root.set("time", f"{time.time() - session.started:.3f}")
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            ET.ElementTree(root).write(self.path, encoding="utf-8", xml_declaration=True)
        except OSError as exc:
            raise UsageError(f"--junitxml {self.path}: cannot write: {exc.strerror}") from None

    def _suite(self, run: Run | None, run_id: str, reports: list[Report]) -> ET.Element:
        started = run.started if run else time.time()
        suite = ET.Element("testsuite", name=run.flow_id if run else run_id,
                           timestamp=_iso(started), hostname=socket.gethostname())
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="run_id", value=run_id)
        for name, value in sorted((run.params if run else {}).items()):
            ET.SubElement(props, "property", name=f"param:{name}", value=clean(repr(value)))
        for report in reports:
            suite.append(self._case(report))
        _totals(suite, suite.findall("testcase"))
        if run is not None and run.finished:  # the run's wall time, not the sum of tasks
            suite.set("time", f"{run.finished - run.started:.3f}")
        return suite

    def _case(self, r: Report) -> ET.Element:
        flow_id, _, name = r.task_id.partition("::")
        spent = r.duration + self.spent.get((r.run_id, r.task_id), 0.0)  # every attempt
        case = ET.Element("testcase", classname=flow_id, name=name, time=f"{spent:.3f}")
        if r.status == FAILED:
            summary = r.summary or "failed"
            if r.attempt > 1:
                summary += f" (after {r.attempt} attempts)"
            failure = ET.SubElement(case, "failure", message=clean(summary),
                                    type=_error_type(summary))
            failure.text = clean(r.error or summary)
        elif r.status in (SKIPPED, CANCELLED):
            message = r.reason or r.status
            if r.status == CANCELLED:
                message = f"cancelled: {message}"
            ET.SubElement(case, "skipped", type=r.status, message=clean(message))
        notes = self.retried.get((r.run_id, r.task_id), [])
        if notes and r.status != FAILED:
            notes = [*notes, f"[flowrun] passed on attempt {r.attempt}"]
        if r.status == CACHED:
            notes = [*notes, f"[flowrun] cached: {r.reason or 'stored result reused'}"]
        out = "".join(f"{n}\n" for n in notes) + r.stdout
        if r.log:
            out += f"{'' if out.endswith(chr(10)) or not out else chr(10)}" \
                   f"--- captured log ---\n{r.log}"
        for tag, text in (("system-out", out), ("system-err", r.stderr)):
            if text:
                ET.SubElement(case, tag).text = clean(text)
        return case


def _error_suite(error: Any) -> ET.Element:
    """A file that failed to collect, as pytest shows one: an ``error`` testcase."""
    where = getattr(error, "where", "") or "collection"
    suite = ET.Element("testsuite", name=where, timestamp=_iso(time.time()),
                       hostname=socket.gethostname())
    case = ET.SubElement(suite, "testcase", classname=where, name="[collect]", time="0.000")
    failure = ET.SubElement(case, "error", message=clean(str(error)), type="CollectError")
    failure.text = clean((getattr(error, "detail", "") or "") + str(error))
    _totals(suite, [case])
    return suite


def _totals(element: ET.Element, children: list[ET.Element]) -> None:
    """Counts and time on a suite (of its testcases) or on the root (of its suites)."""
    def count(attr: str, tag: str) -> int:
        if element.tag == "testsuites":
            return sum(int(c.get(attr, "0")) for c in children)
        return sum(1 for c in children if c.find(tag) is not None)

    element.set("tests", str(count("tests", "*") if element.tag == "testsuites"
                             else len(children)))
    element.set("failures", str(count("failures", "failure")))
    element.set("errors", str(count("errors", "error")))
    element.set("skipped", str(count("skipped", "skipped")))
    element.set("time", f"{sum(float(c.get('time', '0')) for c in children):.3f}")


def _error_type(summary: str) -> str:
    """``ValueError`` from ``ValueError: boom``; ``failure`` for other summaries."""
    head = summary.partition(":")[0]
    return head if re.fullmatch(r"[A-Za-z_][\w.]*", head) else "failure"


def _iso(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(stamp))
