"""Start-up loads only what the command uses: built-in plugins are declared with their
hooks and imported on first call, installed plugins are found without
``importlib.metadata``, and every option and executor is still there for ``--help``,
``--executors`` and the option checks. Real ``flowrun`` processes on real projects."""
from __future__ import annotations

import gc
import importlib
import json
import subprocess
import sys

import pluggy
import pytest

from flowrun.builtin_plugins import BUILTINS
from flowrun.hookspecs import PROJECT
from flowrun.testing import INVOCATIONS

DEFAULT_OPTS = {"wrapper": False, "hookwrapper": False, "optionalhook": False,
                "tryfirst": False, "trylast": False, "specname": None}

#: Prints the modules loaded once ``flowrun ARGS`` is done, as JSON on the last line.
MODULES_AFTER = """\
import json, sys
from flowrun.cli.main import run
code = run(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def modules_after(project, *args: str, env: dict[str, str] | None = None) -> set[str]:
    INVOCATIONS.append(args)  # a real flowrun command line, run by the script
    done = subprocess.run([sys.executable, "-c", MODULES_AFTER, *args], cwd=project.path,
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["code"] == 0, done.stdout + done.stderr
    return set(answer["modules"])


@pytest.mark.parametrize("name,module,hooks", BUILTINS, ids=[b[0] for b in BUILTINS])
def test_each_builtin_declares_exactly_the_hooks_its_module_implements(name, module, hooks):
    pm = pluggy.PluginManager(PROJECT)
    real = importlib.import_module(module)
    found = {}
    for attr in dir(real):
        opts = pm.parse_hookimpl_opts(real, attr)
        if opts is not None:
            found[attr] = {k: v for k, v in opts.items() if v != DEFAULT_OPTS[k]}
    assert found == hooks, f"update flowrun/builtin_plugins.py for {module}"


def test_a_quiet_thread_run_imports_no_other_executor_reporter_or_collector(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): return 1\n")
    loaded = modules_after(project, "-q")
    assert "flowrun.executors.thread" in loaded and "flowrun.storage.sqlite" in loaded
    unused = {"flowrun.executors.process", "flowrun.executors.ssh_executor",
              "flowrun.reporters.junitxml_writer",
              "flowrun_dask.executor", "importlib.metadata",
              "xml.etree.ElementTree", "cloudpickle", "yaml", "shutil",
              "flowrun.executors.ssh_settings", "difflib", "concurrent.futures",
              "pathlib", "apprise", "flowrun.notify.outbox", "flowrun.notify.channels"}
    assert loaded & unused == set()


def test_history_loads_neither_the_engine_nor_an_executor(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): return 1\n")
    assert project.run("-q").exit_code == 0
    loaded = modules_after(project, "history")
    assert "flowrun.storage.sqlite" in loaded
    assert {m for m in loaded if m.startswith(("flowrun.engine", "flowrun.session",
                                               "flowrun.executors.thread",
                                               "flowrun.executors.process",
                                               "flowrun.collect"))} == set()


def test_options_of_every_builtin_and_installed_plugin_are_in_help_and_checked(project):
    text = project.run("--help").output
    for option in ("--resume", "--due", "--ssh-host", "--junitxml", "--report-json",
                   "--dask-address"):
        assert option in text
    assert "thread, process, ssh" in " ".join(text.split())
    typo = project.run_subprocess("--junitxm", "out.xml")
    assert typo.exit_code == 4 and "No such option '--junitxm'" in typo.output + typo.stderr


def test_a_builtin_option_still_works_and_a_blocked_builtin_loses_its_option(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): return 1\n")
    assert project.run("-q", "--junitxml", "out.xml").exit_code == 0
    assert "<testcase" in (project.path / "out.xml").read_text()
    blocked = project.run_subprocess("-p", "no:junitxml", "--junitxml", "x.xml")
    assert blocked.exit_code == 4 and not (project.path / "x.xml").exists()


def test_an_installed_plugin_is_found_by_its_entry_point_and_can_be_blocked(project,
                                                                           tmp_path):
    site = tmp_path / "site"
    (site / "my_plug-1.0.dist-info").mkdir(parents=True)
    (site / "my_plug-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: my-plug\nVersion: 1.0\n\nA plugin.\n")
    (site / "my_plug-1.0.dist-info" / "entry_points.txt").write_text(
        "[console_scripts]\nx = y:z\n\n[flowrun]\nmine = my_plug:plugin [extra]\n")
    (site / "my_plug.py").write_text(
        "from flowrun.plugin import hookimpl\n\nclass plugin:\n"
        "    @staticmethod\n    @hookimpl\n    def flowrun_executors():\n"
        "        return ['mine']\n")
    env = {"PYTHONPATH": str(site)}
    listing = project.run_subprocess("--executors", env=env).output.splitlines()
    assert ["mine", "from", "my-plug"] in [line.split() for line in listing]
    assert listing[0].split() == ["thread", "built-in"]
    blocked = project.run_subprocess("--executors", "-p", "no:mine", env=env).output
    assert "mine" not in blocked and "thread" in blocked


def test_the_garbage_collector_is_paused_for_start_up_only(project):
    project.write("flows/flow_a.py", """
        import gc
        from flowrun import task
        @task
        def collecting():
            return gc.isenabled()
    """)
    assert project.run("-q").result("flows/flow_a.py::collecting") is True
    assert gc.isenabled()


def test_a_caller_that_paused_the_collector_finds_it_paused(project):
    project.write("flows/flow_a.py", "from flowrun import task\n@task\ndef a(): return 1\n")
    gc.disable()
    try:
        assert project.run("-q").exit_code == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_file_a_flow_left_open_is_still_written_out_at_exit(project):
    """The real process skips the collections of its exit (``gc.freeze``), not the
    freeing of what the modules hold: a file nobody closed is still flushed."""
    project.write("flows/flow_a.py", """
        from flowrun import task
        LOG = open("left_open.log", "w")
        @task
        def a():
            LOG.write("written by a")
    """)
    assert project.run_subprocess("-q").exit_code == 0
    assert (project.path / "left_open.log").read_text() == "written by a"


def test_thread_tasks_run_on_named_worker_threads_started_by_helpers(project):
    """Workers are started off the submitting thread, yet are real ``threading``
    threads named ``flowrun-N`` (what logging's ``threadName`` shows)."""
    project.write("flows/flow_a.py", "import threading\nfrom flowrun import task\n"
                  "@task\ndef items(): return list(range(20))\n"
                  "@task(each='items')\ndef where(items):\n"
                  "    me = threading.current_thread()\n"
                  "    return type(me).__name__, me.name, me.daemon\n")
    result = project.run("-q", "-n", "3")
    assert result.exit_code == 0
    seen = {result.result(f"flows/flow_a.py::where[{i}]") for i in range(20)}
    assert {kind for kind, _, _ in seen} == {"Thread"}
    assert all(name.startswith("flowrun-") for _, name, _ in seen)
    assert all(daemon for _, _, daemon in seen)
