"""The ``flowrun`` command: a thin click layer, and the only place that turns
exceptions into output and exit codes.
"""
from __future__ import annotations

import gc
import sys
from typing import Any, Callable

from flowrun import __version__


def run(argv: list[str], plugins: list[Any] = (), *, own_process: bool = False) -> int:
    """Run the command line ``argv``; return the exit code (never raise).

    ``plugins`` are extra plugin objects registered last (``flowrun.testing`` uses this
    to stub tasks). ``own_process``: the process is this command's alone (the
    ``flowrun`` script), so what start-up made may be frozen out of collections.
    """
    if argv[:1] in (["--version"], ["-V"]):  # fast path: imports nothing else
        print(f"flowrun {__version__}")
        return 0
    resume_collector = _pause_collector(freeze=own_process)
    try:
        return _run(argv, plugins, resume_collector)
    except KeyboardInterrupt:  # before the engine took over signals, or after it
        print("\n!!! interrupted !!!", file=sys.stderr)
        return 2
    finally:
        resume_collector()


#: Allocations between young collections in flowrun's own process (see ``_pause_collector``).
YOUNG_COLLECTION = 10_000


def _pause_collector(freeze: bool = False) -> Callable[[], None]:
    """Pause the garbage collector for start-up; return what resumes it (idempotent).

    Start-up imports modules and loads plugins: objects that live as long as the process
    and next to no garbage, so the collections they would trigger find nothing (5-10 ms
    of a small run). The command itself runs with the collector as it was. With
    ``freeze``, start-up's objects are moved out of the collector's reach first
    (``gc.freeze``): else the command's first collections walk all of them again, and
    again as they age (~6 ms of a 1,000-task run). Only for a process of flowrun's own:
    an embedding caller's objects would be frozen with them. Such a process also
    collects its youngest objects every ``YOUNG_COLLECTION`` allocations rather than
    CPython's 700: a run allocates a few objects per task that live as long as the
    run, and each young collection walks them to find next to no garbage (~15 ms of
    a null run of 10,000 cached tasks)."""
    if not gc.isenabled():
        return lambda: None
    gc.disable()
    resumed: list[bool] = []

    def resume() -> None:
        if not resumed:
            resumed.append(True)
            if freeze:
                gc.freeze()
                _, older, oldest = gc.get_threshold()
                gc.set_threshold(YOUNG_COLLECTION, older, oldest)
            gc.enable()

    return resume


def _run(argv: list[str], plugins: list[Any], resume_collector: Callable[[], None]) -> int:
    import click

    from flowrun.errors import ExitCode, FlowrunError

    try:
        context = CommandContext(argv, plugins)
        context.start_up_over = resume_collector
        command = _build(context)
        if command.name != "run":  # the run command imports the engine first
            resume_collector()  # start-up is over: what runs now may make garbage
        result = command.main(args=argv, prog_name="flowrun", standalone_mode=False)
        return int(result or 0)
    except click.exceptions.Exit as exc:  # --help
        return exc.exit_code
    except click.UsageError as exc:
        exc.show()
        return ExitCode.USAGE_ERROR
    except click.Abort:  # click's name for a KeyboardInterrupt outside the engine
        print("\n!!! interrupted !!!", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except FlowrunError as exc:  # each error carries its own exit code
        if exc.detail:
            print(exc.detail.rstrip(), file=sys.stderr)
        print(f"ERROR: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - a bug in flowrun or a plugin: show everything
        if _caused_by_stop_signal(exc):  # e.g. wrapped by a class's __set_name__
            print("\n!!! interrupted !!!", file=sys.stderr)
            return ExitCode.INTERRUPTED
        import traceback

        traceback.print_exc()
        print("INTERNAL ERROR: the traceback above is a bug in flowrun or a plugin",
              file=sys.stderr)
        return ExitCode.INTERNAL_ERROR


def _caused_by_stop_signal(exc: BaseException) -> bool:
    """Whether a stop signal's ``StopSignal`` is behind ``exc``: Python wraps what an
    import raises in some places (``__set_name__`` while a class is made)."""
    from flowrun.errors import StopSignal

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, StopSignal):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


class CommandContext:
    """What a command factory receives. Finds the rootdir and loads plugins before
    click parses anything, because plugins add options and commands (``-p`` is read
    ahead, as pytest does); ``make(options)`` then gives the ``Config``."""

    def __init__(self, argv: list[str], plugins: list[Any] = ()) -> None:
        import os

        self.argv = argv
        #: Resumes the garbage collector paused for start-up: the run command calls it
        #: once the engine is imported (its modules are start-up too).
        self.start_up_over: Callable[[], None] = lambda: None
        from flowrun.config import find_rootdir
        from flowrun.plugins import make_plugin_manager

        self.rootdir, self.inifile, self.ini = find_rootdir(os.getcwd())
        ini_plugins = self.ini.get("plugins", [])
        ini_plugins = [ini_plugins] if isinstance(ini_plugins, str) else ini_plugins
        self.pm = make_plugin_manager(_read_ahead(argv, "-p"), self.rootdir, ini_plugins,
                                      self.inifile)
        for plugin in plugins:
            self.pm.register(plugin)
        from flowrun.config import OptionParser

        self.parser = OptionParser()
        self.pm.hook.flowrun_addoption.call_historic(kwargs={"parser": self.parser})
        from flowrun.config import check_declared

        check_declared(self.inifile, self.ini, self.parser)

    def make(self, options: dict[str, Any]) -> Any:
        from flowrun.config import Config
        from flowrun.stash import COLLECT

        config = Config(self.rootdir, self.inifile, self.ini, options, self.pm)
        config.stash[COLLECT] = lambda args: _collect(config, args)
        return config


def _collect(config: Any, args: list[str]) -> Any:
    """A session that has collected ``args`` (the session loads on first use)."""
    from flowrun.session import Session

    session = Session(config)
    session.collect(args)
    return session


def _read_ahead(argv: list[str], flag: str) -> list[str]:
    values = []
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif arg.startswith(flag) and len(arg) > len(flag) and not arg.startswith("--"):
            values.append(arg[len(flag):])
    return values


def commands(pm: Any) -> dict[str, tuple[str, Any]]:
    """Every subcommand from ``flowrun_commands``: name -> (summary, factory); the newest
    registration wins a name."""
    found: dict[str, tuple[str, Any]] = {}
    for answer in reversed(pm.hook.flowrun_commands()):
        found.update(answer or {})
    return found


def _epilog(available: dict[str, tuple[str, Any]]) -> str:
    lines = ["\b", "Other commands:"]
    lines += [f"  flowrun {name:<12} {summary}" for name, (summary, _) in available.items()]
    return "\n".join(lines)


def _build(context: CommandContext) -> Any:
    """The run command itself (so usage lines read ``flowrun [OPTIONS]``), or a group
    holding just the subcommand being run (imported only then)."""
    import click

    available = commands(context.pm)
    if not (context.argv and context.argv[0] in available):
        from flowrun.cli.run import make_run_command

        command = make_run_command(context, _epilog(available))
        command.params.extend(context.parser.options)
        return command

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    def cli() -> None:
        """flowrun: pytest, for workflows."""

    name = context.argv[0]
    cli.add_command(make_subcommand(context, available[name][1]), name)
    return cli


def make_subcommand(context: CommandContext, factory: Any) -> Any:
    """The click command a ``flowrun_commands`` factory (or its ``module:attr``) makes."""
    if isinstance(factory, str):
        import importlib

        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory(context)
