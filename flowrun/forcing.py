"""[plugin] ``--force``: the tasks named on the command line (node ids, ``-k``/``-m``
matches; every selected task when none is named) are not reused — not resumed, keyed
or up to date — while their upstream still may be. With ``--resume`` everything
downstream of a forced task runs again too (``flowrun --resume RUN --force NODEID``
reruns that task and what follows, and reuses the rest of the run).

Also the session's wiring of declared files and cached tasks into the engine."""
from __future__ import annotations

from typing import Any

from flowrun.plugin import hookimpl


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--force", "force", is_flag=True, default=False,
                     help="Ignore cached (and resumed) results of the tasks named on the "
                     "command line.")


@hookimpl
def flowrun_collection_modifyitems(config: Any, flows: list[Any]) -> None:
    """With ``--resume`` the node ids name what to force, not what to run: the resumed
    run is the whole flow, every other success reused (``flowrun.resume``)."""
    if not (config.getoption("force") and config.getoption("resume")):
        return
    for flow in flows:
        flow.selected = None


def forced_names(config: Any, flow: Any) -> set[str]:
    """The names of the flow's tasks ``--force`` names: those the command line chose,
    every task of the flow when it named none (empty without ``--force``)."""
    if not config.getoption("force"):
        return set()
    return set(flow.named) if flow.named is not None else set(flow.tasks)


def forced_ids(config: Any, flows: list[Any]) -> frozenset[str]:
    """Task ids ``--force`` names (empty without it)."""
    return frozenset(flow.tasks[n].id for flow in flows for n in forced_names(config, flow))


def wire_engine(engine: Any, config: Any, flows: list[Any]) -> None:
    """Give the engine ``--force``'s task ids and the way to make its ``Caching``
    (the rootdir's files, the host's stat cache), made only if a task needs it."""
    engine.forced_ids = forced_ids(config, flows)

    def make(engine: Any) -> Any:
        from flowrun.caching import hash_cache_path
        from flowrun.engine.caching import make_caching

        return make_caching(engine, config.rootdir, hash_cache_path(config),
                            engine.forced_ids)

    engine.make_caching = make
