"""``flowrun accept NODEID...``: record the current inputs of a cached task as fresh
(after a cosmetic edit: a renamed variable, a reformatted data file), so it stays
``cached``. Only for a task whose last success's outputs are intact; otherwise one
line says why and the command exits 1.

What is recorded: the code and declared reads as they are now; parameters and
upstream results as the last success had them (accepting says nothing about those)."""
from __future__ import annotations

from typing import Any

import click

from flowrun.errors import FlowrunError, UsageError


def make_accept_command(factory: Any) -> click.Command:
    @click.command("accept")
    @click.argument("args", nargs=-1, required=True, metavar="NODEID...")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    def accept(args: tuple[str, ...], **options: Any) -> int:
        """Record a cached task's current inputs as fresh (after a cosmetic edit)."""
        from flowrun.caching import Fingerprinter, hash_cache_path
        from flowrun.cli.forget import open_selection

        bare = [a for a in args if "::" not in a]
        if bare:
            raise UsageError(f"accept: {bare[0]} is not a task id (PATH::TASK)")
        config = factory.make(options)
        session, store = open_selection(config, list(args))
        fingerprinter = Fingerprinter(config.rootdir, hash_cache_path(config))
        try:
            for flow in session.flows:
                for name in sorted(flow.named or ()):
                    click.echo(accept_task(flow.tasks[name], store, fingerprinter))
            store.flush()
            fingerprinter.save()
        finally:
            session.close()
        return 1 if session.errors else 0

    return accept


def accept_task(task: Any, store: Any, fingerprinter: Any) -> str:
    """Record ``task``'s current code and reads in its fingerprint; the line to print.
    Raises ``FlowrunError`` when it cannot be accepted."""
    from flowrun.fingerprint import Fingerprint, changes, outputs_intact

    if not task.options.cache:
        raise FlowrunError(f"cannot accept {task.id}: it is not cached (set cache=True)")
    if task.options.each is not None:
        raise FlowrunError(f"cannot accept {task.id}: a mapped task's instances are "
                           "recorded one by one; run it, or `flowrun forget` it")
    recorded = store.get_fingerprint(task.id, "")
    old = Fingerprint.from_json(recorded[0]) if recorded else None
    if old is None:
        raise FlowrunError(f"cannot accept {task.id}: it never succeeded (with this "
                           "version of flowrun); run it first")
    broken = outputs_intact(old, fingerprinter.states(list(old.writes)))
    if broken:
        raise FlowrunError(f"cannot accept {task.id}: its outputs are not intact "
                           f"({broken[0].describe()}); run it instead")
    reads = fingerprinter.files(task, _recorded_values(old), "reads")[0]
    now, why = fingerprinter.fingerprint(task, {}, old.upstream, reads)
    if now is None:
        raise FlowrunError(f"cannot accept {task.id}: {why}")
    fresh = Fingerprint(code=now.code, params=old.params, upstream=old.upstream,
                        reads=now.reads, writes=old.writes, version=now.version)
    found = changes(old, fresh)
    store.record_fingerprint(task.id, "", fresh.to_json(), recorded[1])
    if not found:
        return f"{task.id}: already up to date"
    return f"accepted {task.id}: " + "; ".join(c.describe() for c in found)


def _recorded_values(old: Any) -> dict[str, Any]:
    """Template values from the recorded parameters (their reprs, read back)."""
    import ast

    values = {}
    for name, text in old.params.items():
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    return values
