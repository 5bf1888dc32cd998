"""The terminal report's closing sections, as pytest prints them: ERRORS (files that
failed to collect), FAILURES (each failed task's traceback and captured output), the
N slowest durations, the short summary and the summary line."""
from __future__ import annotations

import time
from typing import Any

from flowrun.plugin import CANCELLED, FAILED, SKIPPED, SUCCEEDED, Report

COLORS = {SUCCEEDED: "32", "cached": "32", FAILED: "31", SKIPPED: "33", CANCELLED: "33",
          "error": "31", "interrupted": "31"}
ORDER = (FAILED, SUCCEEDED, SKIPPED, "cached", CANCELLED, "error")
#: Lines of a failed task's captured stream shown (its tail); ``flowrun logs`` has all.
MAX_OUTPUT_LINES = 200
#: Durations shorter than this are left out of ``--durations`` unless ``-vv``.
SHORT_DURATION = 0.005


def errors_section(rep: Any, errors: list) -> None:
    rep.sep("=", "ERRORS")
    for error in errors:
        rep.sep("_", f"ERROR collecting {error.where}", COLORS["error"], bold=True)
        if error.detail:
            rep.write(error.detail.rstrip())
        rep.write(f"E   {error}", COLORS["error"])


def failures_section(rep: Any, failed: list[Report]) -> None:
    rep.sep("=", "FAILURES")
    for report in failed:
        title = rep.name(report) + (f" (attempt {report.attempt})" if report.attempt > 1
                                    else "")
        rep.sep("_", title, COLORS[FAILED], bold=True)
        rep.write((report.error or report.summary or "failed").rstrip())
        for stream, text in (("stdout", report.stdout), ("stderr", report.stderr),
                             ("log", report.log)):
            if text:
                rep.sep("-", f"Captured {stream}")
                rep.write(_tail(text, report))


def _tail(text: str, report: Report) -> str:
    lines = text.rstrip("\n").split("\n")
    if len(lines) <= MAX_OUTPUT_LINES:
        return "\n".join(lines)
    cut = len(lines) - MAX_OUTPUT_LINES
    task = report.task_id.partition("::")[2]
    return (f"... {cut} earlier lines cut; `flowrun logs {report.run_id} {task}` has all "
            "of it\n" + "\n".join(lines[cut:]))


def durations_section(rep: Any, count: int, spent: dict[tuple[str, str], float],
                      names: dict[tuple[str, str], str]) -> None:
    """pytest's ``--durations N``: the N slowest tasks (0: all), every attempt counted."""
    slowest = sorted(spent.items(), key=lambda item: item[1], reverse=True)
    if count > 0:
        slowest = slowest[:count]
    rep.sep("=", f"slowest {count} durations" if count > 0 else "slowest durations")
    shown = slowest if rep.verbosity > 1 else [s for s in slowest if s[1] >= SHORT_DURATION]
    for key, seconds in shown:
        rep.write(f"{seconds:.2f}s {names[key]}")
    hidden = len(slowest) - len(shown)
    if hidden:
        rep.write(f"\n({hidden} durations < {SHORT_DURATION}s hidden.  Use -vv to show "
                  "these durations.)")


def short_summary(rep: Any, session: Any, failed: list[Report], finished: list[Report],
                  retried: list[Report]) -> None:
    lines = [f"FAILED {rep.name(r)} - {r.summary or 'failed'}" for r in failed]
    lines += [f"ERROR {e.where} - {e}" for e in session.errors]
    if rep.verbosity > 0:
        for status in (SKIPPED, CANCELLED):
            lines += [f"{status.upper()} {rep.name(r)} - {r.reason or ''}".rstrip(" -")
                      for r in finished if r.status == status]
    lines += [f"RETRIED {rep.name(r)} passed on attempt {r.attempt}" for r in retried]
    if not lines or rep.verbosity < 0:
        return
    rep.sep("=", "short summary info")
    for line in lines:
        rep.write(line)


def summary_line(rep: Any, session: Any, finished: list[Report], exit_code: int) -> None:
    counts: dict[str, int] = {}
    for report in finished:
        counts[report.status] = counts.get(report.status, 0) + 1
    if session.errors:
        counts["error"] = len(session.errors)
    parts = [f"{counts[k]} {k}" if k != "error" else
             f"{counts[k]} error{'s' * (counts[k] != 1)}" for k in ORDER if counts.get(k)]
    if session.deselected:
        parts.append(f"{session.deselected} deselected")
    elapsed = time.time() - getattr(rep, "start", session.started)
    text = ", ".join(parts) or ("no flows ran" if not session.flows else "no tasks ran")
    text += f" in {elapsed:.2f}s"
    if exit_code == 2:
        text = "interrupted: " + text
    bad = counts.get(FAILED) or counts.get("error") or exit_code == 2
    color = COLORS[FAILED] if bad else (COLORS[SKIPPED] if not counts else COLORS[SUCCEEDED])
    if rep.verbosity < 0:
        rep.write(text, color)
    else:
        rep.sep("=", text, color, bold=True)
