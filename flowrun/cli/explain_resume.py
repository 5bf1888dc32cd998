"""``flowrun explain --resume [RUN]``: what ``--resume`` of a run does with each task —
take its stored result ("reused from run X"), or run it again, and why: it failed, was
cancelled or skipped, never ran, was still running when the run stopped, its code or
parameters changed since it succeeded, or a task upstream of it runs again.

It reads the same records ``flowrun.resume`` does (``reuse.final_reports``: the newest
record of each task along the chain of resumed runs), so it says what the run will do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowrun.model import CANCELLED, FAILED, HAS_RESULT, SKIPPED, Report, Run, Task
from flowrun.reuse import final_reports
from flowrun.plugin.source import task_source_hash

#: Why a task runs again, as the JSON's ``rerun_because`` says it.
WHY = ("failed", "cancelled", "skipped", "never_ran", "unfinished", "code_changed",
       "params_changed", "downstream_of_rerun")


@dataclass
class ResumePlan:
    """The run ``--resume`` continues and the newest record of each of its tasks."""

    run: Run
    final: dict[str, Report]

    @classmethod
    def of(cls, storage: Any, request: Any) -> ResumePlan | None:
        """The plan of a ``--resume`` request (None: the request resumes nothing)."""
        if request is None or not request.resumed_from:
            return None
        run = storage.get_run(request.resumed_from)
        return cls(run, final_reports(storage, run))

    def header(self) -> str:
        return f"--resume continues run {self.run.id} ({self.run.status})"


def reused(stored: Report) -> tuple[str, dict[str, Any]]:
    """The reason shown for a reused task, and its JSON fields."""
    return f"reused from run {stored.run_id}", {"reused_from": stored.run_id,
                                                "reused_by": "resumed"}


def why_rerun(plan: ResumePlan, task: Task, reusable: bool, rerun_upstream: list[str]
              ) -> tuple[str, dict[str, Any]]:
    """Why ``--resume`` runs ``task`` again (``reusable``: its own record would be
    reused but for ``rerun_upstream``, the tasks before it that run again)."""
    code, text = _why(plan, task, reusable, rerun_upstream)
    return text, {"rerun_because": code}


def _why(plan: ResumePlan, task: Task, reusable: bool, rerun_upstream: list[str]
         ) -> tuple[str, str]:
    final = plan.final.get(task.id)
    if reusable:
        return "downstream_of_rerun", (f"downstream of a rerun: {', '.join(rerun_upstream)} "
                                       "runs again")
    if final is None:
        return "never_ran", f"never ran in run {plan.run.id}"
    where = f"run {final.run_id}"
    if final.status == FAILED:
        return "failed", f"failed in {where}" + (f": {final.summary}" if final.summary else "")
    if final.status == CANCELLED:
        return "cancelled", f"cancelled in {where}" + (f" ({final.reason})" if final.reason
                                                        else "")
    if final.status == SKIPPED:
        return "skipped", f"skipped in {where}" + (f" ({final.reason})" if final.reason
                                                    else "")
    if final.status not in HAS_RESULT:
        return "unfinished", f"still {final.status} when {where} stopped"
    if final.source_hash and final.source_hash != task_source_hash(task.fn):  # as reuse
        return "code_changed", f"code changed since it succeeded in {where}"
    return "params_changed", f"its parameters changed since it succeeded in {where}"
