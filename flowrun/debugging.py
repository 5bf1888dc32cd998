"""[plugin] ``--pdb``: the Python debugger at the frame where a task failed, as
``pytest --pdb``. Registered in ``flowrun_configure`` only when ``--pdb`` is given, it
wraps each attempt (``flowrun_task_call``), so it runs in the failing task's thread and
needs an executor that runs attempts in this process (the session refuses the others).
The debugger talks to the real terminal, whatever capture is doing, and one failing
task at a time gets it.
"""
from __future__ import annotations

import sys
import threading
from typing import Any

from flowrun.errors import Skipped
from flowrun.hookspecs import hookimpl

PLUGIN_NAME = "pdbinvoke"
_one_at_a_time = threading.Lock()


@hookimpl
def flowrun_configure(config: Any) -> None:
    if config.getoption("usepdb") and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(PdbInvoke(), PLUGIN_NAME)


class PdbInvoke:
    @hookimpl(wrapper=True)
    def flowrun_task_call(self, call: Any) -> Any:
        try:
            return (yield)
        except (Skipped, KeyboardInterrupt):
            raise
        except BaseException as exc:
            from flowrun.plugin.attempt import format_user_error

            post_mortem(call.task_id, format_user_error(exc)[1], exc)
            raise


def post_mortem(task_id: str, summary: str, exc: BaseException) -> None:
    import pdb  # only when a task failed under --pdb

    with _one_at_a_time:
        out = sys.__stdout__
        out.write(f"\n>>>>>>>>>> {task_id} failed: {summary}\n>>>>>>>>>> entering PDB "
                  "(continue with c: the run goes on) >>>>>>>>>>\n")
        out.flush()
        debugger = pdb.Pdb(stdin=sys.__stdin__, stdout=out)
        debugger.reset()
        debugger.interaction(None, exc.__traceback__)
