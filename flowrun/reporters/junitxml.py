"""[plugin] ``--junitxml PATH``: the run as JUnit XML, the format every CI system reads.

One ``testsuite`` per flow run, one ``testcase`` per task (classname = the flow id,
name = the task name, ``name[i]`` for mapped instances). Failures carry the user's
traceback, skipped and cancelled tasks a ``skipped`` with the reason, captured output
goes to ``system-out`` / ``system-err``, and earlier failed attempts of a retried task
are noted in its ``system-out``. Files that failed to collect are ``error`` testcases.
The reporter registers itself only when the option is given.
"""
from __future__ import annotations

from typing import Any

from flowrun.plugin import check_output_path, hookimpl

PLUGIN_NAME = "junitxml-writer"


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--junitxml", "junitxml", metavar="PATH",
                     help="Write a JUnit XML report (one testcase per task) to PATH.")


@hookimpl
def flowrun_configure(config: Any) -> None:
    path = config.getoption("junitxml")
    if path is not None and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        from flowrun.reporters.junitxml_writer import JunitXml

        config.pluginmanager.register(JunitXml(check_output_path("--junitxml", str(path))),
                                     PLUGIN_NAME)
