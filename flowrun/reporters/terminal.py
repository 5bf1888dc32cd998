"""[plugin] The pytest-style terminal report.

A header, one progress line per flow (a character per task, printed when the flow's
run ends), a failures section with the user's traceback and captured output, a short
summary and the summary line. ``-v``: one line per task; ``-q``: less. On a TTY a live
line shows what runs now; off a TTY every line is flushed as written (cron logs).
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
)

CHARS = {SUCCEEDED: ".", FAILED: "F", SKIPPED: "s", CACHED: "c", CANCELLED: "-"}
WORDS = {SUCCEEDED: "SUCCEEDED", FAILED: "FAILED", SKIPPED: "SKIPPED", CACHED: "CACHED",
         CANCELLED: "CANCELLED"}
COLORS = {SUCCEEDED: "32", CACHED: "32", FAILED: "31", SKIPPED: "33", CANCELLED: "33",
          "error": "31", "interrupted": "31"}
ORDER = (FAILED, SUCCEEDED, SKIPPED, CACHED, CANCELLED, "error")


@hookimpl(trylast=True)  # after the plugins that put what it reads in the stash
def flowrun_configure(config: Any) -> None:
    if not config.pluginmanager.has_plugin("terminalreporter"):
        config.pluginmanager.register(TerminalReporter(config), "terminalreporter")


class TerminalReporter:
    def __init__(self, config: Any, out: TextIO | None = None) -> None:
        self.config = config
        self.out = out or sys.stdout
        self.verbosity = int(config.getoption("verbose", 0) or 0) - int(
            config.getoption("quiet", 0) or 0)
        self.tty = _isatty(self.out)
        self.color = _use_color(self.out)
        self.width = _width(self.tty)
        self.total = 0
        self.done = 0
        self.known: set[str] = set()
        self.mapped: set[str] = set()
        self.flow_chars: dict[str, list[str]] = {}
        self.finished: list[Report] = []
        self.retried: list[Report] = []
        self.running: dict[str, float] = {}
        self.live_shown = False
        self.last_live = 0.0
        # --due: say nothing until a run starts (cron mails any output); see _release
        self.held: list[str] | None = [] if config.stash.get(HOLD_HEADER, False) else None
        # a --watch cycle: the watcher's line says what changed and reruns; no header
        self.compact = config.stash.get(COMPACT_REPORT, False)

    # -- writing ----------------------------------------------------------------------

    def write(self, text: str = "", color: str | None = None, bold: bool = False) -> None:
        self._clear_live()
        if self.color and (color or bold):
            codes = ";".join(c for c in ("1" if bold else "", color or "") if c)
            text = f"\x1b[{codes}m{text}\x1b[0m"
        if self.held is not None:
            self.held.append(text + "\n")
            return
        self.out.write(text + "\n")
        self.out.flush()

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
        self.write(f"rootdir: {config.rootdir}" + (f", configfile: {configfile}"
                                                   if configfile else ""))

    @hookimpl
    def flowrun_collection_finish(self, session: Any) -> None:
        self.total = sum(len(f.selected_tasks) for f in session.flows)
        self.known = {t.id for f in session.flows for t in f.selected_tasks}
        self.mapped = {t.id for f in session.flows for t in f.selected_tasks
                       if t.options.each is not None}
        if self.verbosity < 0 or self.compact:
            return
        flows = len(session.flows)
        text = f"collected {self.total} task{'s' * (self.total != 1)} in {flows} " \
               f"flow{'s' * (flows != 1)}"
        if session.errors:
            text += f" / {len(session.errors)} error{'s' * (len(session.errors) != 1)}"
        if session.deselected:
            text += f" / {session.deselected} deselected"
        self.write(text, bold=True)
        self.write()
        if self.config.getoption("collectonly"):
            self._tree(session.flows)

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
    def flowrun_run_start(self, run: Run) -> None:
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
    def flowrun_task_start(self, task: Report) -> None:
        if self.tty:
            self.running[task.task_id] = time.time()
            self._show_live()

    @hookimpl
    def flowrun_task_finish(self, task: Report) -> None:
        self.running.pop(task.task_id, None)
        if task.will_retry:
            if self.verbosity > 0:
                self.write(f"{task.task_id} FAILED (attempt {task.attempt}, will retry): "
                           f"{task.summary}", COLORS[SKIPPED])
            return
        self._count(task.task_id)
        self.done += 1
        self.finished.append(task)
        if task.attempt > 1 and task.status == SUCCEEDED:
            self.retried.append(task)
        self.flow_chars.setdefault(task.flow_id, []).append(CHARS.get(task.status, "?"))
        if self.verbosity > 0:
            self._write_task_line(task)
        elif self.tty:
            self._show_live()

    def _count(self, task_id: str) -> None:
        """Grow the total for tasks that appear at run time: mapped instances (which
        replace their task in the count) and submitted children."""
        if task_id in self.known:
            return
        self.known.add(task_id)
        self.total += 1
        base = task_id.rpartition("[")[0]
        if base in self.mapped:
            self.mapped.discard(base)
            self.total -= 1

    def _write_task_line(self, task: Report) -> None:
        word = WORDS.get(task.status, task.status.upper())
        extra = f" ({task.duration:.2f}s)" if task.started else ""
        if task.attempt > 1:
            extra += f" on attempt {task.attempt}"
        note = task.reason or (task.summary if task.status == FAILED else None)
        if note:
            extra += f" - {note}"
        self.write(f"{task.task_id} {self._colored(word, COLORS.get(task.status))}"
                   f"{extra} {self._percent()}")

    @hookimpl
    def flowrun_run_finish(self, run: Run) -> None:
        chars = self.flow_chars.pop(run.flow_id, [])
        if self.verbosity > 0:
            return
        shown = "".join(chars)
        if self.verbosity < 0:
            self.write(shown)
            return
        left = f"{run.flow_id} {shown}"
        percent = self._percent()
        pad = max(1, self.width - len(left) - len(percent))
        colored = "".join(self._colored(c, COLORS.get(_status_of(c))) for c in shown)
        self.write(f"{run.flow_id} {colored}{' ' * pad}{percent}")

    @hookimpl
    def flowrun_session_finish(self, session: Any, exit_code: int) -> None:
        if self.held is not None and exit_code == 0 and not session.runs:
            return  # --due and nothing was due: not a word
        self._release()
        self._clear_live()
        self._show_notes()
        if session.errors:
            self._errors_section(session.errors)
        if self.config.getoption("collectonly"):
            errors = f", {len(session.errors)} error{'s' * (len(session.errors) != 1)}" \
                if session.errors else ""
            text = f"{self.total} task{'s' * (self.total != 1)} collected{errors} in " \
                   f"{time.time() - self.start:.2f}s"
            self.sep("=", text, COLORS[FAILED] if session.errors else None)
            return
        failed = [r for r in self.finished if r.status == FAILED]
        if failed:
            self._failures_section(failed)
        self._short_summary(session, failed)
        self._summary_line(session, exit_code)

    # -- sections -----------------------------------------------------------------------

    def _errors_section(self, errors: list) -> None:
        self.sep("=", "ERRORS")
        for error in errors:
            self.sep("_", f"ERROR collecting {error.where}", COLORS["error"], bold=True)
            if error.detail:
                self.write(error.detail.rstrip())
            self.write(f"E   {error}", COLORS["error"])

    def _failures_section(self, failed: list[Report]) -> None:
        self.sep("=", "FAILURES")
        for report in failed:
            title = report.task_id + (f" (attempt {report.attempt})" if report.attempt > 1
                                      else "")
            self.sep("_", title, COLORS[FAILED], bold=True)
            self.write((report.error or report.summary or "failed").rstrip())
            for name, text in (("stdout", report.stdout), ("stderr", report.stderr),
                               ("log", report.log)):
                if text:
                    self.sep("-", f"Captured {name}")
                    self.write(text.rstrip("\n"))

    def _short_summary(self, session: Any, failed: list[Report]) -> None:
        lines = [f"FAILED {r.task_id} - {r.summary or 'failed'}" for r in failed]
        lines += [f"ERROR {e.where} - {e}" for e in session.errors]
        if self.verbosity > 0:
            lines += [f"SKIPPED {r.task_id} - {r.reason or ''}".rstrip(" -")
                      for r in self.finished if r.status == SKIPPED]
            lines += [f"CANCELLED {r.task_id} - {r.reason or ''}".rstrip(" -")
                      for r in self.finished if r.status == CANCELLED]
        lines += [f"RETRIED {r.task_id} passed on attempt {r.attempt}" for r in self.retried]
        if not lines or self.verbosity < 0:
            return
        self.sep("=", "short summary info")
        for line in lines:
            self.write(line)

    def _summary_line(self, session: Any, exit_code: int) -> None:
        counts: dict[str, int] = {}
        for report in self.finished:
            counts[report.status] = counts.get(report.status, 0) + 1
        if session.errors:
            counts["error"] = len(session.errors)
        parts = [f"{counts[k]} {k}" if k != "error" else
                 f"{counts[k]} error{'s' * (counts[k] != 1)}" for k in ORDER if counts.get(k)]
        if session.deselected:
            parts.append(f"{session.deselected} deselected")
        elapsed = time.time() - getattr(self, "start", session.started)
        text = ", ".join(parts) or ("no flows ran" if not session.flows else "no tasks ran")
        text += f" in {elapsed:.2f}s"
        if exit_code == 2:
            text = "interrupted: " + text
        bad = counts.get(FAILED) or counts.get("error") or exit_code == 2
        color = COLORS[FAILED] if bad else (COLORS[SKIPPED] if not counts else COLORS[SUCCEEDED])
        if self.verbosity < 0:
            self.write(text, color)
        else:
            self.sep("=", text, color, bold=True)

    # -- the live line (TTY only) -----------------------------------------------------

    def _percent(self) -> str:
        return f"[{100 * self.done // max(1, self.total):3d}%]"

    def _show_live(self) -> None:
        now = time.time()
        if now - self.last_live < 0.1 or self.verbosity < 0:
            return
        self.last_live = now
        names = ", ".join(t.rpartition("::")[2] for t in list(self.running)[:3])
        more = f" +{len(self.running) - 3}" if len(self.running) > 3 else ""
        elapsed = now - getattr(self, "start", now)
        line = f"[{self.done}/{self.total}] running: {names}{more}  {elapsed:.1f}s"
        self.out.write("\r" + line[: self.width - 1] + "\x1b[K")
        self.out.flush()
        self.live_shown = True

    def _clear_live(self) -> None:
        if self.live_shown:
            self.out.write("\r\x1b[K")
            self.live_shown = False


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
