"""flowrun's ``dask`` executor: attempts run on a Dask distributed cluster.

flowrun stays the scheduler (retries, timeouts, ``each``, concurrency limits): it submits
each attempt when it is ready, with ``pure=False`` and a key of its own. An attempt's
Dask future is its ``Outcome.ref``: a downstream task on this executor gets the future
as its argument, so Dask hands it the upstream result worker to worker. The outcome
still comes back to be stored (``--resume`` and ``flowrun show`` need it), but the
machine running ``flowrun`` never unpickles it nor sends it out again.

Functions from flow files and the project's helper modules are pickled by value (as for
the process and SSH executors), so the workers need only flowrun and the libraries the
tasks import.

``submit()`` and ``run_flow()`` inside a task: the task's requests reach the
coordinator through a distributed ``Queue`` of this session, and each answer comes back
through a queue of that attempt; a task waiting on its children ``secede``s from its
worker thread meanwhile, so a one-thread cluster cannot deadlock. (Queues pass through
the scheduler: a child's arguments and result should stay small there.)
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flowrun.plugin import hookimpl

if TYPE_CHECKING:
    from flowrun_dask.executor import DaskExecutor

NAME = "dask"
#: [tool.flowrun.dask] settings besides ``address``: LocalCluster's, and the seconds to
#: wait for a scheduler.
DEFAULTS = {"n_workers": 2, "threads_per_worker": 1, "processes": True, "timeout": 10}
#: The keys of [tool.flowrun.dask] and their kinds: flowrun checks them at the start of
#: every command, whatever executor the run uses.
KEYS = {"address": "name", "n_workers": {"kind": "int", "minimum": 1, "maximum": 10_000},
        "threads_per_worker": {"kind": "int", "minimum": 1, "maximum": 10_000},
        "processes": "bool", "timeout": {"kind": "seconds", "open_min": True,
                                         "maximum": 365 * 24 * 3600.0}}


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--dask-address", "dask_address", metavar="URL",
                     help="Dask scheduler for --executor dask (default: "
                     "FLOWRUN_DASK_ADDRESS, [tool.flowrun.dask] address, else a "
                     "LocalCluster).")
    parser.addini("dask", "[tool.flowrun.dask]: address and LocalCluster settings",
                  keys=KEYS)


@hookimpl
def flowrun_executors() -> list[str]:
    return [NAME]


@hookimpl
def flowrun_make_executor(name: str, config: Any) -> DaskExecutor | None:
    if name != NAME:
        return None
    settings = dict(config.ini.get("dask", {}))  # its keys were checked at start (KEYS)
    address = (config.getoption("dask_address") or os.environ.get("FLOWRUN_DASK_ADDRESS")
               or settings.pop("address", None))
    settings.pop("address", None)
    from flowrun_dask.executor import DaskExecutor  # Dask and the wire load only now

    return DaskExecutor(config.rootdir, address, {**DEFAULTS, **settings})
