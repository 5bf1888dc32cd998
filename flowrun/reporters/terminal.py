"""[plugin] The pytest-style terminal report.

A header, one progress line per flow (a character per task, printed when the flow's
run ends), a failures section with the user's traceback and captured output, a short
summary and the summary line. ``-v``: one line per task; ``-q``: less. On a TTY a live
line shows what runs now; off a TTY every line is flushed as written (cron logs).
The closing sections live in ``sections``, the counting in ``progress``, the live line
in ``live``.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from flowrun.plugin import (
    CACHED,
    CANCELLED,
    COMPACT_REPORT,
    FAILED,
    HOLD_HEADER,
    SKIPPED,
    SUCCEEDED,
    Report,
    Run,
    hookimpl,
    slot_text,
)
from flowrun.reporters import sections
from flowrun.reporters.live import LiveLine
from flowrun.reporters.progress import Progress

CHARS = {SUCCEEDED: ".", FAILED: "F", SKIPPED: "s", CACHED: "c", CANCELLED: "-"}
WORDS = {status: status.upper() for status in CHARS}
COLORS = sections.COLORS


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--durations", "durations", type=int, metavar="N",
                     help="List the N slowest tasks (0: all) before the summary line.")


@hookimpl(trylast=True)  # after the plugins that put what it reads in the stash
def flowrun_configure(config: Any) -> None:
    if not config.pluginmanager.has_plugin("terminalreporter"):
        reporter = TerminalReporter(config)
        config.pluginmanager.register(reporter, "terminalreporter")
        if reporter.draws_live_line():
            config.pluginmanager.register(LiveStarts(reporter), "terminal-live-line")


class LiveStarts:
    """Tells the live line which tasks start. A plugin of its own, registered only where
    the line is drawn: elsewhere (a pipe, a file, ``-q``) a run makes no task-start
    call at all, and no snapshot of a report for one."""

    def __init__(self, reporter: TerminalReporter) -> None:
        self.reporter = reporter

    @hookimpl
    def flowrun_task_start(self, task: Report) -> None:
        if self.reporter.held is None:  # (not while --due holds the report back)
            self.reporter.live.started(task.task_id)


class TerminalReporter:
    def __init__(self, config: Any, out: TextIO | None = None) -> None:
        self.config = config
        self.out = out or sys.stdout
        self.verbosity = int(config.getoption("verbose", 0) or 0) - int(
            config.getoption("quiet", 0) or 0)
        self.tty = _isatty(self.out)
        self.color = _use_color(self.out)
        self.width = _width(self.tty)
        self.progress = Progress()
        self.live = LiveLine(self.out, self.width, lambda: (self.progress.done,
                                                             self.progress.total))
        self.flow_chars: dict[str, list[str]] = {}  # run id -> progress characters
        self.runs: dict[str, Run] = {}
        self.finished: list[Report] = []
        self.retried: list[Report] = []
        self.spent: dict[tuple[str, str], float] = {}  # (run, task) -> every attempt's time
        self.names: dict[tuple[str, str], str] = {}
        # What each finished task must update, decided once: per task, under -q into a
        # pipe, only what the summary shows (progress feeds the percentages and the
        # live line, spent and names --durations).
        self.timed = config.getoption("durations", None) is not None
        self.counted = self.verbosity >= 0
        self.live_drawn = self.draws_live_line()
        # --due: say nothing until a run starts (cron mails any output); see _release
        self.held: list[str] | None = [] if config.stash.get(HOLD_HEADER, False) else None
        # a --watch cycle: the watcher's line says what changed and reruns; no header
        self.compact = config.stash.get(COMPACT_REPORT, False)

    # -- writing ----------------------------------------------------------------------

    def write(self, text: str = "", color: str | None = None, bold: bool = False) -> None:
        if self.color and (color or bold):
            codes = ";".join(c for c in ("1" if bold else "", color or "") if c)
            text = f"\x1b[{codes}m{text}\x1b[0m"
        if self.held is not None:
            self.held.append(text + "\n")
            return
        with self.live.lock:
            self.live.clear()
            try:
                self.out.write(text + "\n")
                self.out.flush()
            except (OSError, ValueError):  # a task closed fd 1: the report cannot go on
                pass

    def _release(self) -> None:
        held, self.held = self.held, None
        if held:
            self.out.write("".join(held))
            self.out.flush()

    def sep(self, char: str, title: str = "", color: str | None = None,
            bold: bool = False) -> None:
        if title:
            side = max(2, (self.width - len(title) - 2) // 2)
            line = f"{char * side} {title} {char * side}"
            line += char * (self.width - len(line))
        else:
            line = char * self.width
        self.write(line, color, bold)

    def _colored(self, text: str, color: str | None) -> str:
        return f"\x1b[{color}m{text}\x1b[0m" if self.color and color else text

    def name(self, report: Report) -> str:
        """A task as lines name it: its id, an instance's values, the run's partition."""
        label = report.task_id + (f" {report.label}" if report.label else "")
        run = self.runs.get(report.run_id)
        if run is not None and run.partition is not None:
            label += f" [partition {run.partition}]"
        return label

    # -- hooks ------------------------------------------------------------------------

    @hookimpl
    def flowrun_session_start(self, session: Any) -> None:
        self.start = time.time()
        self.session = session
        if self.verbosity < 0 or self.compact:
            return
        self.sep("=", "flowrun session starts", bold=True)
        import platform

        from flowrun.plugin import __version__
        self.write(f"platform {sys.platform} -- Python {platform.python_version()}, "
                   f"flowrun-{__version__}")
        config = self.config
        configfile = os.path.relpath(config.inifile, config.rootdir) if config.inifile else ""
        found_by = f", configfile: {configfile}" if configfile else (
            ", found by its .flowrun/ store" if config.rootdir != os.getcwd() else "")
        self.write(f"rootdir: {config.rootdir}{found_by}")

    @hookimpl
    def flowrun_collection_finish(self, session: Any) -> None:
        self.progress.collected(session.flows)
        collect_only = self.config.getoption("collectonly")
        if collect_only and self.verbosity < 0:  # pytest --collect-only -q: node ids
            for flow in session.flows:
                for task in flow.selected_tasks:
                    self.write(task.id)
            return
        if self.verbosity < 0 or self.compact:
            return
        self._collected_line(session)
        if collect_only:
            self._tree(session.flows)

    def _collected_line(self, session: Any) -> None:
        total, flows = self.progress.total, len(session.flows)
        text = f"collected {total} task{'s' * (total != 1)} in {flows} " \
               f"flow{'s' * (flows != 1)}"
        if session.errors:
            text += f" / {len(session.errors)} error{'s' * (len(session.errors) != 1)}"
        if session.deselected:
            text += f" / {session.deselected} deselected"
        self.write(text, bold=True)
        self.write()

    def _tree(self, flows: list) -> None:
        for flow in flows:
            extra = f" schedule={flow.schedule!r}" if flow.schedule else ""
            extra += f" tags={list(flow.tags)}" if flow.tags else ""
            self.write(f"<Flow {flow.id}{extra}>")
            for task in flow.selected_tasks:
                parts = []
                if task.upstream:
                    parts.append("after " + ", ".join(task.upstream))
                if task.params:
                    parts.append("params " + ", ".join(task.params))
                if task.options.each:
                    parts.append(f"each {task.options.each!r}")
                if task.tags:
                    parts.append("tags " + ", ".join(task.tags))
                self.write(f"  <Task {task.name}" + (f" ({'; '.join(parts)})" if parts
                                                      else "") + ">")

    @hookimpl
    def flowrun_runs_planned(self, session: Any, requests: list[Any]) -> None:
        self.progress.planned_runs(requests)

    @hookimpl
    def flowrun_run_start(self, run: Run) -> None:
        self.runs[run.id] = run
        self._release()
        self._show_notes()

    def _show_notes(self) -> None:
        """Print what plugins noted for the user (e.g. what ``--resume`` reuses), once."""
        session = getattr(self, "session", None)
        notes = session.notes if session is not None else []
        for note in notes[getattr(self, "notes_shown", 0):]:
            self.write(note)
        self.notes_shown = len(notes)

    @hookimpl
    def flowrun_interrupted(self, signal: str, running: list[Report], grace: float) -> None:
        self._release()
        if not running:
            self.write(f"!!! {signal}: stopping; no task was running", COLORS[FAILED])
            return
        names = ", ".join(self.name(r) for r in running)
        self.write(f"!!! {signal}: no new task starts; waiting up to {grace:g}s for "
                   f"{len(running)} running: {names}", COLORS[FAILED])
        self.write("!!! press Ctrl-C again to stop them now", COLORS[FAILED])

    def draws_live_line(self) -> bool:
        """On a terminal, unless ``-q``, a debugger or a task's own output uses it."""
        return self.tty and self.verbosity >= 0 and not self.config.getoption("usepdb") \
            and not self.config.getoption("no_capture")

    @hookimpl
    def flowrun_task_finish(self, task: Report) -> None:
        if self.live_drawn:
            self.live.finished(task.task_id)
        key = (task.run_id, task.task_id)
        if self.timed:
            self.spent[key] = self.spent.get(key, 0.0) + task.duration
        if task.will_retry:
            if self.verbosity > 0:
                self.write(f"{self.name(task)} FAILED (attempt {task.attempt}, will retry): "
                           f"{task.summary}", COLORS[SKIPPED])
            return
        if self.timed:
            self.names[key] = self.name(task)
        if self.counted:
            self.progress.finished(task)
        self.finished.append(task)
        if task.attempt > 1 and task.status == SUCCEEDED:
            self.retried.append(task)
        self.flow_chars.setdefault(task.run_id, []).append(CHARS.get(task.status, "?"))
        if self.verbosity > 0:
            self._write_task_line(task)

    def _write_task_line(self, task: Report) -> None:
        word = WORDS.get(task.status, task.status.upper())
        extra = f" ({task.duration:.2f}s)" if task.started else ""
        if task.attempt > 1:
            extra += f" on attempt {task.attempt}"
        note = task.reason or (task.summary if task.status == FAILED else None)
        if note:
            extra += f" - {note}"
        self.write(f"{self.name(task)} {self._colored(word, COLORS.get(task.status))}"
                   f"{extra} {self.progress.percent()}")

    @hookimpl
    def flowrun_run_finish(self, run: Run) -> None:
        chars = self.flow_chars.pop(run.id, [])
        if self.verbosity > 0:
            return
        shown = "".join(chars)
        if self.verbosity < 0:
            self.write(shown)
            return
        left = run.flow_id + (f" slot {slot_text(run.scheduled_for)}"
                              if run.scheduled_for is not None else "")
        left += f" [partition {run.partition}]" if run.partition else ""
        percent = self.progress.percent()
        pad = max(1, self.width - len(left) - 1 - len(shown) - len(percent))
        colored = "".join(self._colored(c, COLORS.get(_status_of(c))) for c in shown)
        self.write(f"{left} {colored}{' ' * pad}{percent}")

    @hookimpl
    def flowrun_session_finish(self, session: Any, exit_code: int) -> None:
        self.live.stop()
        if self.held is not None and exit_code == 0 and not session.runs:
            return  # --due and nothing was due: not a word
        self._release()
        self._show_notes()
        if session.errors:
            sections.errors_section(self, session.errors)
        if self.config.getoption("collectonly"):
            return self._collected_summary(session)
        failed = [r for r in self.finished if r.status == FAILED]
        if failed:
            sections.failures_section(self, failed)
        durations = self.config.getoption("durations")
        if durations is not None:
            sections.durations_section(self, durations, {k: v for k, v in self.spent.items()
                                                         if k in self.names}, self.names)
        sections.short_summary(self, session, failed, self.finished, self.retried)
        sections.summary_line(self, session, self.finished, exit_code)

    def _collected_summary(self, session: Any) -> None:
        errors = f", {len(session.errors)} error{'s' * (len(session.errors) != 1)}" \
            if session.errors else ""
        total = self.progress.total
        text = f"{total} task{'s' * (total != 1)} collected{errors} in " \
               f"{time.time() - self.start:.2f}s"
        if self.verbosity < 0:
            self.write()
            self.write(text)
        else:
            self.sep("=", text, COLORS[FAILED] if session.errors else None)


def _status_of(char: str) -> str:
    return next((s for s, c in CHARS.items() if c == char), FAILED)


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _use_color(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _isatty(out)


def _width(tty: bool) -> int:
    if not tty:
        return 80
    import shutil

    return max(40, shutil.get_terminal_size().columns)
