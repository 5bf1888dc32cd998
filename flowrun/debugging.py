"""``--pdb``: the Python debugger at the frame where a task failed, as ``pytest --pdb``.

It runs in the failing task's thread, so it needs the thread executor (tasks on other
executors run in other processes). The debugger talks to the real terminal, whatever
capture is doing, and one failing task at a time gets it.
"""
from __future__ import annotations

import pdb
import sys
import threading

_one_at_a_time = threading.Lock()


def post_mortem(task_id: str, summary: str, exc: BaseException) -> None:
    with _one_at_a_time:
        out = sys.__stdout__
        out.write(f"\n>>>>>>>>>> {task_id} failed: {summary}\n>>>>>>>>>> entering PDB "
                  "(continue with c: the run goes on) >>>>>>>>>>\n")
        out.flush()
        debugger = pdb.Pdb(stdin=sys.__stdin__, stdout=out)
        debugger.reset()
        debugger.interaction(None, exc.__traceback__)
