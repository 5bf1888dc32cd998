"""``flowrun forget [PATH | NODEID]...``: drop recorded fingerprints, so the next run of
those cached tasks recomputes. A flow file, folder or node id names tasks (as the run
command selects them; nothing named: every collected flow); a data file names the
tasks that declare it in ``reads`` or ``writes``."""
from __future__ import annotations

import os
from typing import Any

import click

from flowrun.errors import FlowrunError


def make_forget_command(factory: Any) -> click.Command:
    @click.command("forget")
    @click.argument("args", nargs=-1, metavar="[PATH | NODEID]...")
    @click.option("-k", "keyword", metavar="EXPR", help="Select tasks by name expression.")
    @click.option("-m", "markexpr", metavar="EXPR", help="Select tasks by tag expression.")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    def forget(args: tuple[str, ...], **options: Any) -> int:
        """Drop recorded fingerprints: the next run recomputes those cached tasks."""
        config = factory.make(options)
        flow_args, data_files = split_args(config, args)
        session, store = open_selection(config, flow_args)
        try:
            ids = [t.id for flow in session.flows for t in chosen(flow, data_files)]
            dropped = sum(store.forget_fingerprints(task_id) for task_id in ids)
        finally:
            session.close()
        click.echo(f"forgot {dropped} fingerprint{'s' * (dropped != 1)} of {len(ids)} "
                   f"task{'s' * (len(ids) != 1)}")
        return 1 if session.errors else 0

    return forget


def split_args(config: Any, args: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(flow paths and node ids, data files relative to the rootdir)."""
    import fnmatch

    patterns = [*config.python_files, *config.spec_files]
    flows, data = [], []
    for arg in args:
        named_flow = "::" in arg or os.path.isdir(arg) or any(
            fnmatch.fnmatch(os.path.basename(arg), p) for p in patterns)
        if named_flow or not os.path.exists(arg):
            flows.append(arg)  # a missing path: the selection says so, in one line
        else:
            data.append(os.path.relpath(os.path.abspath(arg), config.rootdir)
                        .replace(os.sep, "/"))
    return flows, data


def open_selection(config: Any, args: list[str]) -> tuple[Any, Any]:
    """The session with its flows collected and selected, and its store, which must
    keep fingerprints."""
    from flowrun.caching import store_of
    from flowrun.config import open_storage
    from flowrun.session import Session

    session = Session(config)
    session.collect(args)
    for error in session.errors:
        click.echo(f"ERROR collecting {error.where}: {error}", err=True)
    session.storage = open_storage(config)
    store = store_of(session.storage)
    if store is None:
        session.close()
        raise FlowrunError(f"the store {config.store_url} keeps no fingerprints (its plugin "
                           "does not implement FingerprintStore): nothing is cached there")
    return session, store


def chosen(flow: Any, data_files: list[str]) -> list[Any]:
    """The tasks of ``flow`` named on the command line, or declaring a data file."""
    from flowrun.graph import _overlap, _shape

    if data_files:
        return [t for t in flow.tasks.values() if any(
            _overlap(f, _shape(p)) for f in data_files
            for p in (*t.options.reads, *t.options.writes))]
    names = flow.named if flow.named is not None else flow.selected or list(flow.tasks)
    return [flow.tasks[n] for n in names]
