"""The click commands behind ``flowrun``: options in, a session or a store query out."""
from __future__ import annotations

from typing import Any

import click

from flowrun.config_keys import MAX_SECONDS
from flowrun.errors import UsageError


def make_run_command(factory: Any, epilog: str = "") -> click.Command:
    @click.command("run", cls=ShortOptionsDirect, epilog=epilog,
                   context_settings={"help_option_names": ["-h", "--help"]})
    @click.argument("args", nargs=-1, metavar="[PATH | NODEID]...")
    @click.option("-k", "keyword", metavar="EXPR",
                  help="Select tasks whose flow or task name matches (and/or/not).")
    @click.option("-m", "markexpr", metavar="EXPR", help="Select tasks by tag expression.")
    @click.option("-x", "--exitfirst", is_flag=True, default=None,
                  help="Stop starting tasks after the first failure.")
    @click.option("--executor", metavar="NAME", cls=ExecutorOption, pm=factory.pm)
    @click.option("--executors", "list_executors", is_flag=True, default=None,
                  help="List the executors available (built-in and from plugins).")
    @click.option("-n", "--workers", type=click.IntRange(1, 10_000), metavar="N",
                  help="Tasks at once.")
    @click.option("--param", multiple=True, metavar="K=V", help="Set a flow parameter.")
    @click.option("--retries", type=click.IntRange(0, 10_000), metavar="N",
                  help="Retries for every task (overrides decorators and Flow()).")
    @click.option("--timeout", type=click.FloatRange(0, MAX_SECONDS, min_open=True),
                  metavar="SECONDS",
                  help="Timeout for every task (overrides decorators and Flow()).")
    @click.option("--watch", is_flag=True, default=None,
                  help="Stay up; on every saved change rerun the affected flows.")
    @click.option("--collect-only", "collectonly", is_flag=True, default=None,
                  help="Show what would run, and run nothing.")
    @click.option("-s", "no_capture", is_flag=True, default=None,
                  help="Don't capture task output: print it as it comes (tagged with the "
                  "task's id while several run).")
    @click.option("--pdb", "usepdb", is_flag=True, default=None,
                  help="On a task failure, open the Python debugger at the failing frame "
                  "(thread executor).")
    @click.option("-v", "--verbose", count=True, help="More output (one line per task).")
    @click.option("-q", "--quiet", count=True, help="Less output.")
    @click.option("-p", "plugins", multiple=True, metavar="NAME",
                  help="Load plugin NAME, or block it with -p no:NAME.")
    @click.option("--store", metavar="URL", help="Where runs are kept.")
    @click.version_option(package_name="flowrun", prog_name="flowrun", message="%(prog)s %(version)s")
    def run(**options: Any) -> int:
        """Discover flow_*.py files, select tasks, run them, report like pytest."""
        if not (options["watch"] or options["list_executors"]):
            import flowrun.session  # noqa: F401 - start-up, with the collector paused
        factory.start_up_over()
        if options.pop("list_executors"):
            for plugin, names in executor_sources(factory.pm):
                click.echo(f"{', '.join(names):<12} {plugin}")
            return 0
        timeout = options.get("timeout")
        if timeout is not None and timeout != timeout:  # NaN passes click's range check
            raise UsageError("--timeout nan: expected seconds > 0")
        config = factory.make(options)
        if options["watch"]:
            return watch_session(config, factory.argv)
        from flowrun.session import run_session

        return run_session(config)

    return run


def watch_session(config: Any, argv: list[str]) -> int:
    """``--watch``: checks the options once here, configured as a run would be (a
    plugin that makes its own runs claims ``REQUEST_MODE``), then every cycle is a
    fresh run."""
    from flowrun.stash import REQUEST_MODE
    from flowrun.watch.observer import watch

    config.hook.flowrun_configure(config=config)
    try:
        clash = [mode for mode in (config.stash.get(REQUEST_MODE, ""), "--collect-only"
                                   if config.getoption("collectonly") else "") if mode]
        if clash:
            raise UsageError(f"--watch cannot be combined with {' or '.join(clash)}")
    finally:
        config.hook.flowrun_unconfigure(config=config)
    return watch(config, list(config.options.get("args", ())),
                 [a for a in argv if a != "--watch"])


class ShortOptionsDirect(click.Command):
    """click matches every option as a long one first, and a miss builds its "did you
    mean" list with ``difflib`` before it tries the short options: an import and a
    search on every ``-q``. Here a single-dash option that is no long one goes to the
    short options at once (the list was never shown for it). A ``--`` typo keeps it."""

    def make_parser(self, ctx: click.Context) -> Any:
        parser = super().make_parser(ctx)
        longs, prefixes = getattr(parser, "_long_opt", None), getattr(parser, "_opt_prefixes", None)
        match_long = getattr(parser, "_match_long_opt", None)
        if not (isinstance(longs, dict) and prefixes and callable(match_long)):
            return parser  # another click: its own way

        def match_long_or_short(opt: str, explicit_value: Any, state: Any) -> Any:
            if opt not in longs and opt[:2] not in prefixes:
                raise click.NoSuchOption(opt, ctx=ctx)  # caught: click tries short options
            return match_long(opt, explicit_value, state)

        parser._match_long_opt = match_long_or_short
        return parser


class ExecutorOption(click.Option):
    """``--executor``, whose help names every executor: asking the plugins imports
    them, so it is done only when the help is shown."""

    def __init__(self, *args: Any, pm: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pm = pm

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = f"Where tasks run: {', '.join(executor_names(self.pm))} (default thread)."
        return super().get_help_record(ctx)


def executor_sources(pm: Any) -> list[tuple[str, list[str]]]:
    """(where it comes from, executor names) for every plugin answering
    ``flowrun_executors``: built-ins first, each group in the order flowrun asks them
    for an executor."""
    dists = pm.entry_point_dists
    found = []
    for impl in reversed(pm.hook.flowrun_executors.get_hookimpls()):
        names = impl.function(**{a: None for a in impl.argnames})
        module = getattr(impl.plugin, "__name__", "")
        origin = f"from {dists[impl.plugin_name]}" if impl.plugin_name in dists else \
            "built-in" if module.startswith("flowrun.") else f"from {impl.plugin_name}"
        if names:
            found.append((origin, list(names)))
    return sorted(found, key=lambda source: source[0] != "built-in")


def executor_names(pm: Any) -> list[str]:
    return [name for _, names in executor_sources(pm) for name in names]
