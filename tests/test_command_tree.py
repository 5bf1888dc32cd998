"""Every command and option of ``flowrun`` is run by some end-to-end test.

The tree is click's own: the run command with every option plugins add (SSH, Dask,
the reporters, scheduling, resume) and every subcommand ``flowrun_commands`` registers
(the UI's included), built as a normal run builds them. What the tests ran is what the
harness recorded (``flowrun.testing.INVOCATIONS``: ``Project.run``, ``run_subprocess``,
``popen``, ``flowrun_command``), parsed by click's own parser. An option counts when a
command line gave it (``ParameterSource.COMMANDLINE``), a command when one ran it.

The check needs the whole default run: ``tests/conftest.py`` puts it last, and it skips
itself when only part of the suite was selected. A new option fails it until a test
runs it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click
import pytest
from click.core import ParameterSource

from flowrun.testing import INVOCATIONS

@dataclass
class Tree:
    """``flowrun``'s commands: name ("" for the run command) -> click command."""

    commands: dict[str, click.Command] = field(default_factory=dict)

    def every_option(self) -> list[tuple[str, str]]:
        return [(name, param.name) for name, command in self.commands.items()
                for param in command.params if isinstance(param, click.Option)]

    def spelling(self, name: str, option: str) -> str:
        param = next(p for p in self.commands[name].params if p.name == option)
        return " ".join(filter(None, ["flowrun", name, max(param.opts, key=len)]))


def command_tree(rootdir: Any) -> Tree:
    """Build every command as ``flowrun`` would, in a bare project at ``rootdir``."""
    import os

    from flowrun.cli.main import CommandContext, commands, make_subcommand
    from flowrun.cli.run import make_run_command

    here = os.getcwd()
    os.chdir(rootdir)
    try:
        context = CommandContext([])
        root = make_run_command(context)
        root.params.extend(context.parser.options)
        tree = Tree({"": root})
        for name, (_, factory) in commands(context.pm).items():
            _add(tree, name, make_subcommand(context, factory))
        return tree
    finally:
        os.chdir(here)


def _add(tree: Tree, name: str, command: click.Command) -> None:
    tree.commands[name] = command
    for sub, child in getattr(command, "commands", {}).items():  # a click.Group
        _add(tree, f"{name} {sub}", child)


def exercised(tree: Tree, argv: tuple[str, ...]) -> tuple[str, set[str]] | None:
    """(the command ``argv`` ran, the options it gave on the command line), or None
    when no command of the tree takes it."""
    if argv[:1] in (("--version",), ("-V",)):  # the entry point's fast path
        return "", {"version"}
    name, args = "", list(argv)
    if args and args[0] in tree.commands:
        name, args = args[0], args[1:]
    while True:
        command = tree.commands[name]
        try:
            ctx = command.make_context(f"flowrun {name}".strip(), list(args),
                                       resilient_parsing=True,
                                       ignore_unknown_options=True)
        except click.ClickException:
            return None
        rest = _unparsed(ctx) if isinstance(command, click.Group) else []
        nested = f"{name} {rest[0]}" if rest else None
        if nested not in tree.commands:
            return name, {p.name for p in command.params if isinstance(p, click.Option)
                          and ctx.get_parameter_source(p.name) == ParameterSource.COMMANDLINE}
        name, args = nested, rest[1:]


def _unparsed(ctx: click.Context) -> list[str]:
    """A group's arguments left for its subcommand (click 8.1 keeps the subcommand's
    name in ``protected_args``, deprecated since 8.2, where ``args`` will hold it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*getattr(ctx, "protected_args", ()), *ctx.args]


def untested(tree: Tree, invocations: list[tuple[str, ...]]) -> list[str]:
    """``flowrun CMD --option`` for each command and option no invocation ran."""
    ran: set[str] = set()
    given: set[tuple[str, str]] = set()
    for argv in invocations:
        found = exercised(tree, argv)
        if found is not None:
            ran.add(found[0])
            given.update((found[0], option) for option in found[1])
    missing = [f"flowrun {name}".strip() for name in tree.commands if name not in ran]
    missing += [tree.spelling(name, option) for name, option in tree.every_option()
                if (name, option) not in given]
    return missing


def test_the_check_reads_commands_and_options_as_click_parses_them(tmp_path):
    tree = command_tree(tmp_path)
    assert exercised(tree, ("history", "--json", "--limit=3")) == ("history", {"as_json", "limit"})
    assert exercised(tree, ("-q", "flows/flow_x.py", "--resume")) == ("", {"quiet", "resume"})
    assert exercised(tree, ("--version",)) == ("", {"version"})
    assert exercised(tree, ("-p", "my_plugin", "--my-plugin-option", "x", "-x")) == (
        "", {"plugins", "exitfirst"})
    assert exercised(tree, ("history", "--limit", "zero")) == ("history", {"limit"})
    missing = untested(tree, [("history", "--json")])
    assert "flowrun history --status" in missing and "flowrun history --json" not in missing
    assert "flowrun show" in missing and "flowrun --ssh-host" in missing


def test_the_tree_holds_plugin_commands_and_options(tmp_path):
    tree = command_tree(tmp_path)
    options = {tree.spelling(name, option) for name, option in tree.every_option()}
    assert {"flowrun --ssh-host", "flowrun --report-json", "flowrun --due",
            "flowrun schema", "flowrun history --json"} <= options | set(
        f"flowrun {name}" for name in tree.commands)
    pytest.importorskip("flowrun_ui")
    assert "flowrun ui --port" in options
    pytest.importorskip("flowrun_dask")
    assert "flowrun --dask-address" in options


def test_every_command_and_option_has_an_end_to_end_test(tmp_path):
    """Runs last, once every other test recorded what it ran; skipped unless the whole
    default run was selected (tests/conftest.py sees to both)."""
    missing = untested(command_tree(tmp_path), INVOCATIONS)
    assert not missing, (
        f"{len(missing)} commands/options of flowrun are run by no test (through "
        "flowrun.testing's Project.run, run_subprocess, popen or flowrun_command); "
        "add an end-to-end test for each:\n  " + "\n  ".join(missing))
