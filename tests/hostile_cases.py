"""Hostile inputs for flowrun: the table ``test_hostile_inputs.py`` runs.

Each ``Case`` is a small project (files written over a project holding one good flow,
``flows/flow_ok.py``) plus a command line. Whatever the mistake, flowrun must end with
the case's exit codes (1, 4 or 5 unless it says otherwise: user code that merely lies
about itself may still run), one line naming the file (or the option), no traceback from
flowrun's own code, and no hang. Cases come by class: each generator makes the variants
of one kind of input (``group``), and the default test run samples each class. ``python tests/hostile_cases.py`` runs the whole table as real
processes and prints the counts by category (how the figures in the report were made).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.testing import flowrun_command

FIFO = object()       # a named pipe at that path
DIRECTORY = object()  # an empty directory at that path
DELETE = object()     # remove the file the base project has there


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    files: dict[str, Any] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    names: tuple[str, ...] = ()   # each must appear in the output
    subprocess: bool = False      # may hang or raise a signal: run as a real process
    codes: tuple[int, ...] = (1, 4, 5)
    group: str = ""               # the class of input it is a variant of (default: id)


BASE = {"flowrun.toml": "", "flows/flow_ok.py":
        "from flowrun import task\n@task\ndef ok():\n    return 1\n"}
BAD_FLOW = "flows/flow_bad.py"


def _flow(decorator: str = "@task", flow: str = "", body: str = "return 1",
          extra: str = "") -> str:
    return (f"from flowrun import Flow, task\nimport itertools\n{flow}\n{extra}\n"
            f"{decorator}\ndef a(x=1, region='eu'):\n    {body}\n")


# -- @task(...) options -----------------------------------------------------------------

TASK_OPTIONS: dict[str, list[str]] = {
    "name": ["5", "''.join([])+' '", "'a::b'", "['a']", "None.__class__", "'x\\ny'"],
    "retries": ["'x'", "-1", "1.5", "True", "None", "float('nan')", "10**100", "[1]"],
    "retry_delay": ["'x'", "-1", "float('inf')", "float('nan')", "1e308", "None", "[]"],
    "retry_backoff": ["0", "-2", "'x'", "float('inf')", "float('nan')", "None"],
    "timeout": ["'soon'", "0", "-1", "float('nan')", "float('inf')", "1e308", "True", "[]"],
    "tags": ["5", "[5]", "[None]", "[['a']]", "{'a': 1}"],
    "each": ["{'x': 5}", "{'x': 'abc'}", "{'nope': [1]}", "{}", "5", "'nope'", "[1, 2]",
             "{'x': itertools.count()}", "{5: [1]}", "{'x': None}"],
    "after": ["5", "'nope'", "[5]", "[None]", "{'a': 1}"],
    "run_if": ["'sometimes'", "5", "None", "['done']"],
    "limit": ["'nope'", "5", "[5]", "[['db']]", "{'db': 1}"],
    "executor": ["5", "''", "['thread']", "'nope'", "True"],
    "hosts": ["5", "[5]", "[None]"],
    "run_key": ["5", "'key'", "[]"],
    "retryz": ["3"],
    "timout": ["3"],
}

FLOW_OPTIONS: dict[str, list[str]] = {
    "retryz": ["3"], "timout": ["1"], "limitz": ["{}"], "schedul": ["'* * * * *'"],
    "schedule": ["5", "'nope'", "'* * *'", "'99 * * * *'", "['* * * * *']"],
    "timezone": ["5", "'Mars/Base'", "'../../etc/passwd'"],
    "catchup": ["'never'", "5"], "overlap": ["'maybe'", "None"],
    "partitions": ["5", "'x'", "{'daily': 5}"],
    "tags": ["5", "[5]", "[None]"],
    "limits": ["{'db': 'x'}", "{'db': 0}", "{'db': -1}", "{'db': 1.5}", "5", "{5: 1}",
               "{'db': True}", "{'db': float('inf')}", "['db']"],
    "fail_fast": ["'yes'", "5"],
    "name": ["5", "['x']"],
    "retries": ["'x'", "-1"], "timeout": ["float('nan')", "'x'", "0"],
    "retry_delay": ["float('inf')", "-1"], "after": ["5", "[5]"],
}

LIMIT_USES = {"limits": "@task(limit='db')"}


def task_option_cases() -> list[Case]:
    cases = []
    for option, values in TASK_OPTIONS.items():
        for i, value in enumerate(values):
            decorator = f"@task({option}={value})"
            hang = option in ("timeout", "retry_delay", "retry_backoff", "each", "limit")
            cases.append(Case(f"task-{option}-{i}", "flow file",
                              {BAD_FLOW: _flow(decorator)}, names=("flow_bad.py", option),
                              subprocess=hang))
    return cases


def flow_option_cases() -> list[Case]:
    cases = []
    for option, values in FLOW_OPTIONS.items():
        for i, value in enumerate(values):
            source = _flow(LIMIT_USES.get(option, "@task"), flow=f"flow = Flow({option}={value})")
            cases.append(Case(f"flow-{option}-{i}", "flow file", {BAD_FLOW: source},
                              names=("flow_bad.py", option), subprocess=True))
    return cases


# -- flow files as files -----------------------------------------------------------------

def flow_file_cases() -> list[Case]:
    bodies = {
        "syntax": "def (:\n", "indent": "  x = 1\n y = 2\n", "nul": "x = 1\x00\n",
        "import-error": "import no_such_module_xyz\n", "raise": "raise RuntimeError('x')\n",
        "system-exit": "raise SystemExit(3)\n", "exit-0": "import sys\nsys.exit(0)\n",
        "base-exception": "raise BaseException('x')\n",
        "generator-exit": "raise GeneratorExit()\n",
        "recursion": "def f(): return f()\nf()\n",
        "two-flows": "from flowrun import Flow\na = Flow()\nb = Flow()\n",
        "two-tasks": "from flowrun import task\n@task\ndef a(): pass\nx = a\n@task\ndef a(): pass\n",
        "missing-param": "from flowrun import task\n@task\ndef a(nope): pass\n",
        "typo-param": "from flowrun import task\n@task\ndef extract(): pass\n"
                      "@task\ndef b(extrac): pass\n",
        "cycle": "from flowrun import task\n@task\ndef a(b): pass\n@task\ndef b(a): pass\n",
        "self-cycle": "from flowrun import task\n@task(after=['a'])\ndef a(): pass\n",
        "task-in-class": "from flowrun import task\nclass C:\n    @task\n    def m(self): pass\n",
        "task-on-int": "from flowrun import task\nx = task(5)\n",
        "task-builtin": "from flowrun import task\nx = task(len)\n",
        "flow-positional": "from flowrun import Flow\nflow = Flow(1, 2)\n",
        "print-huge": "print('x' * 10_000_000)\nraise ValueError('big')\n",
        "deep-expr": "x = " + "(" * 300 + "1" + ")" * 300 + "\n",
        "long-line": "x = '" + "a" * 200_000 + "\n",
        "keyboard-interrupt": "raise KeyboardInterrupt\n",
        "star-import": "from os import *\nfrom flowrun import *\nraise ValueError(path)\n",
        "kill-self-not": "import os\nos.environ['X'] = '1'\nraise ImportError('x')\n",
        "bad-task-name-kw": "from flowrun import task\n@task(nam='x')\ndef a(): pass\n",
        "task-positional": "from flowrun import task\n@task('x')\ndef a(): pass\n",
    }
    # a module raising KeyboardInterrupt cannot be told from Ctrl-C: exit 2 (interrupted)
    cases = [Case(f"file-{k}", "flow file", {BAD_FLOW: v},
                  names=() if k == "keyboard-interrupt" else ("flow_bad.py",),
                  codes=(2,) if k == "keyboard-interrupt" else (1, 4, 5),
                  subprocess=k in ("keyboard-interrupt", "system-exit", "exit-0",
                                   "base-exception", "recursion", "generator-exit"))
             for k, v in bodies.items()]
    raw = {"latin1": b"x = '\xe9'\n", "bom-junk": b"\xff\xfe\x00x = 1\n",
           "binary": bytes(range(256)) * 4, "empty-bytes": b"\x80"}
    cases += [Case(f"file-{k}", "flow file", {BAD_FLOW: v}, names=("flow_bad.py",))
              for k, v in raw.items()]
    special = {
        "fifo": {BAD_FLOW: FIFO}, "directory": {"flows/flow_dir.py": DIRECTORY},
        "dev-zero": {"flows/flow_zero.py": Symlink("/dev/zero")},
        "dev-null": {"flows/flow_null.py": Symlink("/dev/null")},
        "dev-urandom": {"flows/flow_rand.py": Symlink("/dev/urandom")},
        "symlink-loop": {"flows/flow_loop.py": Symlink("flow_loop.py")},
        "symlink-loop2": {"flows/flow_l1.py": Symlink("flow_l2.py"),
                          "flows/flow_l2.py": Symlink("flow_l1.py")},
        "broken-symlink": {"flows/flow_broken.py": Symlink("nowhere.py")},
        "dir-loop": {"flows/sub/up": Symlink("..")},
        "fifo-spec": {"flows/flow_fifo.json": FIFO},
        "dev-zero-spec": {"flows/flow_zero.yaml": Symlink("/dev/zero")},
    }
    names = {"dir-loop": ("flow_ok.py",)}
    for key, files in special.items():
        shown = names.get(key) or (os.path.basename(next(iter(files))),)
        if key == "symlink-loop2":
            shown = ("flow_l1.py",)
        cases.append(Case(f"file-{key}", "flow file", files, names=shown, subprocess=True,
                          codes=(0, 1) if key == "dir-loop" else (1, 4, 5)))
    # the same hostile files named on the command line
    for key in ("fifo", "dev-zero", "directory", "symlink-loop"):
        files = special[key]
        path = next(iter(files))
        cases.append(Case(f"arg-{key}", "command line", files, args=(path,),
                          names=(os.path.basename(path),), subprocess=True))
    return cases


# -- user code that lies about itself ---------------------------------------------------
# Flow modules are user code, and collection looks at their objects: none of them may make
# flowrun itself fail. Each class below generates its variants.

RAISES = ["RuntimeError('no')", "SystemExit(3)", "RecursionError()", "AttributeError('x')"]
LYING_METHODS = ["__getattribute__", "__getattr__", "__eq__", "__hash__", "__bool__",
                 "__repr__", "__len__", "__iter__", "__class__", "__instancecheck__"]


def _liar(method: str, raises: str) -> str:
    if method == "__class__":
        return f"class Liar:\n    @property\n    def __class__(self):\n        raise {raises}\n"
    if method == "__instancecheck__":  # a metaclass lying about its instances
        return (f"class Meta(type):\n    def __instancecheck__(cls, obj):\n"
                f"        raise {raises}\n    def __getattribute__(cls, name):\n"
                f"        raise {raises}\nclass Liar(metaclass=Meta):\n    pass\n")
    return f"class Liar:\n    def {method}(self, *args):\n        raise {raises}\n"


def lying_object_cases() -> list[Case]:
    """A module-level object whose every look raises: collection inspects module
    attributes, so the flow still collects and runs (or fails as the user's error)."""
    cases = []
    for method in LYING_METHODS:
        for i, raises in enumerate(RAISES):
            source = (f"from flowrun import task\n{_liar(method, raises)}x = Liar()\n"
                      "y = Liar\n@task\ndef a():\n    return 1\n")
            cases.append(Case(f"liar-{method.strip('_')}-{i}", "flow file", {BAD_FLOW: source},
                              names=("flow_bad.py",), codes=(0, 1), group="liar"))
    return cases


SIGNATURES = ["5", "'x'", "[]", "object()", "inspect.Signature", "{'a': 1}",
              "inspect.signature(len).replace(return_annotation=5).parameters"]
SIGNATURE_HOLDERS = {
    "function": "def f(x=1):\n    return x\nf.__signature__ = {sig}\na = task(f)\n",
    "after-decoration": "@task\ndef a(x=1):\n    return x\na.fn.__signature__ = {sig}\n",
    "callable-object": "class C:\n    __signature__ = {sig}\n    __name__ = 'c'\n"
                       "    def __call__(self):\n        return 1\na = task(C())\n",
    "raising-property": "class C:\n    __name__ = 'c'\n    @property\n"
                        "    def __signature__(self):\n        raise ValueError({sig!r})\n"
                        "    def __call__(self):\n        return 1\na = task(C())\n",
}


def signature_cases() -> list[Case]:
    """A task callable whose ``__signature__`` is not an ``inspect.Signature``."""
    return [Case(f"signature-{holder}-{i}", "flow file",
                 {BAD_FLOW: "import inspect\nfrom flowrun import task\n"
                  + template.format(sig=sig)}, names=("flow_bad.py",), group="signature")
            for holder, template in SIGNATURE_HOLDERS.items()
            for i, sig in enumerate(SIGNATURES)]


TASKDEF_CHANGES = {
    "fn": ["5", "None", "'a'", "object()"], "name": ["5", "None", "['a']", "b'a'"],
    "options": ["5", "None", "{}", "a"],
}


def taskdef_cases() -> list[Case]:
    """A ``@task`` object changed after decoration: attributes set to garbage or
    deleted, options mutated past their frozen dataclass (every bad value of the
    ``@task(...)`` table), the name rebound."""
    head = "import dataclasses\nfrom flowrun import task\n@task\ndef a(x=1):\n    return 1\n"
    changes = {f"{attr}-{i}": f"a.{attr} = {value}" for attr, values in
               TASKDEF_CHANGES.items() for i, value in enumerate(values)}
    changes.update({f"del-{attr}": f"del a.{attr}" for attr in TASKDEF_CHANGES})
    changes.update({f"option-{option}-{i}": f"object.__setattr__(a.options, {option!r}, "
                    f"{value})" for option, values in TASK_OPTIONS.items()
                    for i, value in enumerate(values) if option in TASKDEF_OPTIONS})
    changes.update({"rebound": "a = 5", "dict-cleared": "vars(a).clear()"})
    return [Case(f"taskdef-{k}", "flow file", {BAD_FLOW: head + change + "\n"},
                 names=("flow_bad.py",), codes=(0, 1) if k == "rebound" else (1, 4),
                 subprocess=k.startswith("option-"), group="taskdef")
            for k, change in changes.items()]


FLOW_ATTRIBUTES = ("schedule", "name", "tags", "limits", "fail_fast", "timezone", "catchup",
                   "overlap", "partitions", "after", "task_defaults")


def flow_object_cases() -> list[Case]:
    """A ``Flow(...)`` object changed after it was made: each attribute set to the bad
    values of the ``Flow(...)`` table (and a few of any type), or deleted."""
    values = {a: [*FLOW_OPTIONS.get(a, []), "None", "object()", "{'x': object()}"]
              for a in FLOW_ATTRIBUTES}
    changes = {f"{a}-{i}": f"flow.{a} = {v}" for a, vs in values.items()
               for i, v in enumerate(vs)}
    changes.update({f"del-{a}": f"del flow.{a}" for a in FLOW_ATTRIBUTES})
    return [Case(f"flow-object-{k}", "flow file", {BAD_FLOW: _flow(
                 "@task", flow=f"flow = Flow()\n{change}")}, names=("flow_bad.py",),
                 codes=(0, 1, 4), subprocess=True, group="flow-object")
            for k, change in changes.items()]


TASKDEF_OPTIONS = ("retries", "retry_delay", "timeout", "tags", "each", "after", "run_if",
                   "limit", "executor", "run_key")
SYS_PATHS = ["sys.path.clear()", "sys.path = None", "sys.path = ()", "sys.path = 'x'",
             "sys.path = {}", "sys.path[:] = ['/nonexistent']", "sys.path = sys.path[:1]",
             "del sys.path", "sys.path = [5, None]", "sys.path.clear()\nimport json"]


def sys_path_cases() -> list[Case]:
    """``sys.path`` emptied, cut or replaced by a non-list while the flow is imported
    (the flow itself, or a helper module beside it)."""
    cases = []
    for i, change in enumerate(SYS_PATHS):
        source = f"import sys\nfrom flowrun import task\n{change}\n@task\ndef a():\n    return 1\n"
        cases.append(Case(f"sys-path-{i}", "flow file", {BAD_FLOW: source},
                          names=("flow_bad.py", "sys.path"), subprocess=True, group="sys-path"))
        helper = {BAD_FLOW: "import helper_xyz\nfrom flowrun import task\n@task\ndef a():\n"
                  "    return 1\n", "flows/helper_xyz.py": f"import sys\n{change}\n"}
        cases.append(Case(f"sys-path-helper-{i}", "flow file", helper,
                          names=("flow_bad.py",), subprocess=True, group="sys-path"))
    return cases


def _undecodable(raw: bytes) -> str:
    return os.fsdecode(raw)  # how os hands such a name to Python: with surrogates


BAD_NAMES = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe9t\xe9", b"\x80x"]


def file_name_cases() -> list[Case]:
    """Flow files (or folders on the flowpath) whose names are not valid UTF-8."""
    cases = []
    good = "from flowrun import task\n@task\ndef a():\n    return 1\n"
    for i, raw in enumerate(BAD_NAMES):
        shown = raw.decode("utf-8", "backslashreplace")
        places = {"file": (b"flows/flow_" + raw + b".py", good, f"flow_{shown}.py"),
                  "folder": (b"flows/d" + raw + b"/flow_x.py", good, f"d{shown}"),
                  "spec": (b"flows/flow_" + raw + b".json", '{"tasks": []}', f"flow_{shown}"),
                  "top": (raw + b"/flow_x.py", good, shown)}
        for place, (path, text, name) in places.items():
            cases.append(Case(f"name-{place}-{i}", "flow file", {_undecodable(path): text},
                              names=(name,), group=f"name-{place}"))
        arg = _undecodable(b"flows/d" + raw)
        cases.append(Case(f"name-arg-{i}", "command line",
                          {_undecodable(b"flows/d" + raw + b"/flow_x.py"): good}, args=(arg,),
                          names=(f"d{shown}",), subprocess=True, group="name-arg"))
        cases.append(Case(f"name-other-{i}", "flow file",
                          {_undecodable(b"flows/data_" + raw + b".csv"): "x"},
                          codes=(0,), group="name-other"))
    return cases


THREAD_STARTS = {  # (what it needs, the thread)
    "sleep": ("", "threading.Thread(target=time.sleep, args=(3600,))"),
    "function": ("def forever():\n    time.sleep(3600)\n", "threading.Thread(target=forever)"),
    "timer": ("", "threading.Timer(3600, print)"),
    "subclass": ("class T(threading.Thread):\n    def run(self):\n        time.sleep(3600)\n",
                 "T()"),
    "event": ("e = threading.Event()\n", "threading.Thread(target=e.wait)"),
}


def thread_cases() -> list[Case]:
    """A flow that leaves a non-daemon thread running, at import or in a task (a
    thread started by a task inherits daemon from flowrun's worker: these set it off):
    the command still exits, with its own exit code, and names the file."""
    cases = []
    head = "import threading, time\nfrom flowrun import task\n"
    for key, (setup, thread) in THREAD_STARTS.items():
        in_task = textwrap.indent(f"{setup}t = {thread}\nt.daemon = False\nt.start()", "    ")
        variants = {
            "import": (f"{head}{setup}{thread}.start()\n@task\ndef a():\n    return 1\n", (0,)),
            "import-fails": (f"{head}{setup}{thread}.start()\n@task\ndef a():\n"
                             "    raise ValueError('x')\n", (1,)),
            "task": (f"{head}@task\ndef a():\n{in_task}\n    return 1\n", (0,)),
        }
        for where, (source, codes) in variants.items():
            names = ("flow_bad.py",) if where != "task" else ("left a thread running",)
            cases.append(Case(f"thread-{where}-{key}", "flow file", {BAD_FLOW: source},
                              names=names, codes=codes, subprocess=True,
                              group=f"thread-{where}"))
    setup, thread = THREAD_STARTS["function"]
    cases.append(Case("thread-flowconf", "flowconf.py", {"flowconf.py": "import threading, "
                      f"time\n{setup}{thread}.start()\n"}, names=("flowconf.py",),
                      codes=(0,), subprocess=True, group="thread-flowconf"))
    return cases


def lying_code_cases() -> list[Case]:
    return [*lying_object_cases(), *signature_cases(), *taskdef_cases(), *flow_object_cases(),
            *sys_path_cases(),
            *file_name_cases(), *thread_cases()]


# -- config ------------------------------------------------------------------------------

CONFIG_VALUES: dict[str, list[str]] = {
    "python_files": ["5", "[5]", "true", "{a = 1}", "[[\"flow_*.py\"]]"],
    "spec_files": ["5", "[5]", "{}"],
    "flowpaths": ["5", "[5]", "[true]", "{a = 1}", "[[\"x\"]]"],
    "plugins": ["5", "[5]", "\"\"", "[\"\"]", "{a = 1}", "[\"no_such_plugin_xyz\"]",
                "[\"os.nope\"]", "[\"../x\"]"],
    "store": ["5", "\"\"", "[\"a\"]", "true", "\"/nonexistent_dir_xyz/a/b.db\"",
              "\"nope://x\"", "\"/dev/null\"", "\"/\""],
    "executor": ["5", "\"\"", "[\"thread\"]", "\"nope\""],
    "workers": ["\"x\"", "0", "-1", "1.5", "true", "99999999999999999999"],
    "limits": ["5", "{db = \"x\"}", "{db = 0}", "{db = -1}", "{db = 1.5}", "[1]",
               "{db = true}", "{db = {a = 1}}"],
    "retries": ["\"x\"", "-1", "1.5", "true", "[1]", "99999999999999999999"],
    "retry_delay": ["\"x\"", "-1", "inf", "nan", "1e308", "true"],
    "timeout": ["\"soon\"", "0", "-1", "nan", "inf", "1e308", "true", "[1]"],
    "max_result_size": ["\"x\"", "0", "-1", "1.5", "true"],
    "watch_ignore": ["5", "[5]"],
    "interrupt_grace": ["\"x\"", "-1", "nan", "inf"],
    "max_output_size": ["\"x\"", "-1", "1.5"],
    "ssh": ["5", "\"x\"", "{hots = [\"a\"]}", "{hosts = 5}"],
    "dask": ["5", "\"x\""],
    "result_file_threshold": ["\"x\"", "-1"],
    "retry_backoff": ["0", "\"x\""],
    "exitfirst": ["\"x\"", "5"],
    "verbose": ["\"x\"", "-1"],
    "timout": ["5"], "pythonfiles": ["\"x\""], "flowpath": ["[\"x\"]"], "plugin": ["[]"],
    "worker": ["2"], "zzz_unknown": ["1"],
}
PLUGIN_TABLES = {"ssh": ("--executor", "ssh"), "dask": ("--executor", "dask")}
RAW_CONFIGS = {
    "bad-toml": b"[tool.flowrun\n", "bad-utf8": b"[tool.flowrun]\nstore = \"\xff\xfe\"\n",
    "bad-utf8-comment": b"# \xc3\x28\n[tool.flowrun]\n", "nul": b"[tool.flowrun]\x00\n",
    "tool-string": b"[tool]\nflowrun = \"x\"\n", "tool-int": b"tool = 5\n",
    "tool-flowrun-list": b"[[tool.flowrun]]\nx = 1\n", "tool-flowrun-int": b"tool.flowrun = 5\n",
    "dup-key": b"[tool.flowrun]\nworkers = 1\nworkers = 2\n",
    "binary": bytes(range(256)),
}


def config_cases() -> list[Case]:
    cases = []
    for key, values in CONFIG_VALUES.items():
        for i, value in enumerate(values):
            text = f"[tool.flowrun]\n{key} = {value}\n"
            args = PLUGIN_TABLES.get(key, ())  # a plugin's table is checked by its plugin
            cases.append(Case(f"pyproject-{key}-{i}", "config",
                              {"flowrun.toml": DELETE, "pyproject.toml": text}, args=args,
                              names=("pyproject.toml", key), subprocess=True))
            if i == 0:
                cases.append(Case(f"flowrun-toml-{key}", "config",
                                  {"flowrun.toml": f"{key} = {value}\n"}, args=args,
                                  names=("flowrun.toml", key), subprocess=True))
    for key, raw in RAW_CONFIGS.items():
        cases.append(Case(f"pyproject-raw-{key}", "config",
                          {"flowrun.toml": DELETE, "pyproject.toml": raw},
                          names=("pyproject.toml",), subprocess=True))
        cases.append(Case(f"flowrun-toml-raw-{key}", "config", {"flowrun.toml": raw},
                          names=("flowrun.toml",), subprocess=True))
    cases.append(Case("flowrun-toml-directory", "config", {"flowrun.toml": DELETE,
                      "flowrun.toml/x": "", "pyproject.toml": "[tool.flowrun]\nworkers='x'\n"},
                      names=("pyproject.toml", "workers"), subprocess=True))
    cases.append(Case("flowrun-toml-fifo", "config", {"flowrun.toml": FIFO},
                      names=("flowrun.toml",), subprocess=True))
    return cases


# -- spec flows --------------------------------------------------------------------------

SPECS: dict[str, str] = {
    "not-mapping": "[1, 2]", "string": '"x"', "null": "null", "number": "5",
    "tasks-not-list": '{"tasks": 5}', "tasks-dict": '{"tasks": {"a": 1}}',
    "task-not-mapping": '{"tasks": [5]}', "no-type": '{"tasks": [{"key": "a"}]}',
    "type-int": '{"tasks": [{"key": "a", "task_type": 5}]}',
    "unknown-type": '{"tasks": [{"key": "a", "task_type": "shel"}]}',
    "field-typo": '{"tasks": [{"key": "a", "task_type": "print", "precursor": []}]}',
    "params-typo": '{"tasks": [{"key": "a", "task_type": "print", "task_param": {}}]}',
    "precursors-str": '{"tasks": [{"key": "a", "task_type": "print"}, '
                      '{"key": "b", "task_type": "print", "precursors": "a"}]}',
    "precursors-int": '{"tasks": [{"key": "a", "task_type": "print", "precursors": 5}]}',
    "precursors-unknown": '{"tasks": [{"key": "a", "task_type": "print"}, '
                          '{"key": "b", "task_type": "print", "precursors": ["aa"]}]}',
    "precursors-nested": '{"tasks": [{"key": "a", "task_type": "print", '
                         '"precursors": [["x"]]}]}',
    "precursors-null": '{"tasks": [{"key": "a", "task_type": "print", "precursors": [null]}]}',
    "successors-int": '{"tasks": [{"key": "a", "task_type": "print", "successors": 5}]}',
    "successors-unknown": '{"tasks": [{"key": "a", "task_type": "print", '
                          '"successors": ["zz"]}]}',
    "successors-unhashable": '{"tasks": [{"key": "a", "task_type": "print", '
                             '"successors": [{"a": 1}]}]}',
    "cycle": '{"tasks": [{"key": "a", "task_type": "print", "precursors": ["b"]}, '
             '{"key": "b", "task_type": "print", "precursors": ["a"]}]}',
    "dup-key": '{"tasks": [{"key": "a", "task_type": "print"}, '
               '{"key": "a", "task_type": "print"}]}',
    "root-key": '{"tasks": [{"key": "ROOT", "task_type": "print"}]}',
    "key-list": '{"tasks": [{"key": ["a"], "task_type": "print"}]}',
    "key-dict": '{"tasks": [{"key": {"a": 1}, "task_type": "print"}]}',
    "key-colons": '{"tasks": [{"key": "a::b", "task_type": "print"}]}',
    "params-list": '{"tasks": [{"key": "a", "task_type": "print", "task_params": [1]}]}',
    "params-bad-arg": '{"tasks": [{"key": "a", "task_type": "print", '
                      '"task_params": {"nope": 1}}]}',
    "retries-str": '{"tasks": [{"key": "a", "task_type": "print", "retries": "x"}]}',
    "timeout-neg": '{"tasks": [{"key": "a", "task_type": "print", "timeout": -1}]}',
    "timeout-huge": '{"tasks": [{"key": "a", "task_type": "print", "timeout": 1e308}]}',
    "retry-delay-huge": '{"tasks": [{"key": "a", "task_type": "print", "retries": 1, '
                        '"retry_delay": 1e999}]}',
    "tags-int": '{"tasks": [{"key": "a", "task_type": "print", "tags": 5}]}',
    "tags-nested": '{"tasks": [{"key": "a", "task_type": "print", "tags": [[1]]}]}',
    "limit-int": '{"tasks": [{"key": "a", "task_type": "print", "limit": 5}]}',
    "limit-unknown": '{"tasks": [{"key": "a", "task_type": "print", "limit": "db"}]}',
    "hosts-int": '{"tasks": [{"key": "a", "task_type": "print", "hosts": 5}]}',
    "each-int": '{"tasks": [{"key": "a", "task_type": "print", "each": 5}]}',
    "run-if-bad": '{"tasks": [{"key": "a", "task_type": "print", "run_if": "x"}]}',
    "executor-int": '{"tasks": [{"key": "a", "task_type": "print", "executor": 5}]}',
    "cfg-list": '{"cfg": [1], "tasks": []}', "cfg-typo": '{"cfg": {"retryz": 1}, "tasks": []}',
    "cfg-limits-zero": '{"cfg": {"limits": {"db": 0}}, "tasks": [{"key": "a", '
                       '"task_type": "print", "limit": "db"}]}',
    "cfg-limits-str": '{"cfg": {"limits": {"db": "x"}}, "tasks": [{"key": "a", '
                      '"task_type": "print", "limit": "db"}]}',
    "cfg-tags-int": '{"cfg": {"tags": 5}, "tasks": []}',
    "cfg-schedule-int": '{"cfg": {"schedule": 5}, "tasks": []}',
    "cfg-timeout-nan": '{"cfg": {"timeout": NaN}, "tasks": [{"key": "a", '
                       '"task_type": "print"}]}',
    "cfg-fail-fast-str": '{"cfg": {"fail_fast": "x"}, "tasks": []}',
    "data-list": '{"data": [1], "tasks": []}', "graph-list": '{"graph": [1]}',
    "graph-tasks-list": '{"graph": {"tasks": [1]}}',
    "graph-task-int": '{"graph": {"tasks": {"a": 5}}}',
    "top-typo": '{"taks": [{"key": "a", "task_type": "print"}]}',
    "label-dict": '{"label": {"a": 1}, "tasks": []}',
    "status-int": '{"tasks": [{"key": "a", "task_type": "print", "status": 5}]}',
    "status-bad": '{"tasks": [{"key": "a", "task_type": "print", "status": "WHATEVER"}]}',
    "deep": '{"tasks": [{"key": "a", "task_type": "print", "task_params": {"msg": '
            + "[" * 5000 + "]" * 5000 + "}}]}",
    "huge-int": '{"tasks": [{"key": "a", "task_type": "print", "retries": 1'
                + "0" * 5000 + "}]}",
    "big-float": '{"tasks": [{"key": "a", "task_type": "print", "timeout": 1e400}]}',
    "infinity": '{"tasks": [{"key": "a", "task_type": "print", "timeout": Infinity}]}',
    "trailing": '{"tasks": []} x', "empty": "",
    "python-bad-fn": '{"tasks": [{"key": "a", "task_type": "python", '
                     '"task_params": {"function": 5}}]}',
}
YAML_SPECS: dict[str, str] = {
    "yaml-bad": "tasks: [\n", "yaml-tab": "tasks:\n\t- key: a\n",
    "yaml-python-tag": "tasks: !!python/object/apply:os.system ['true']\n",
    "yaml-alias-bomb": "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "tasks: [*f]\n",
    "yaml-precursors-str": "tasks:\n- {key: a, task_type: print}\n"
                           "- {key: b, task_type: print, precursors: a}\n",
    "yaml-key-int-dup": "tasks:\n- {key: 1, task_type: print}\n- {key: '1', task_type: print}\n",
    "yaml-date-key": "tasks:\n- {key: 2024-01-01, task_type: print}\n"
                     "- {key: b, task_type: print, precursors: [2024-01-01]}\n",
    "yaml-list": "- 1\n- 2\n", "yaml-scalar": "hello\n", "yaml-multi-doc": "a: 1\n---\nb: 2\n",
    "yaml-tasks-null-item": "tasks:\n- \n", "yaml-deep": "a: " + "[" * 3000 + "]" * 3000 + "\n",
}


def spec_cases() -> list[Case]:
    cases = [Case(f"spec-{k}", "spec flow", {"flows/flow_spec.json": v},
                  names=("flow_spec.json",), subprocess=k in ("deep", "cfg-limits-zero",
                                                              "timeout-huge", "big-float",
                                                              "infinity", "cfg-timeout-nan",
                                                              "retry-delay-huge"))
             for k, v in SPECS.items()]
    cases += [Case(f"spec-{k}", "spec flow", {"flows/flow_spec.yaml": v},
                   names=("flow_spec.yaml",), subprocess=True) for k, v in YAML_SPECS.items()]
    cases.append(Case("spec-bad-utf8-json", "spec flow",
                      {"flows/flow_spec.json": b'{"tasks": [], "label": "\xff"}'},
                      names=("flow_spec.json",)))
    cases.append(Case("spec-bad-utf8-yaml", "spec flow",
                      {"flows/flow_spec.yaml": b"label: \xc3\x28\n"}, names=("flow_spec.yaml",)))
    return cases


# -- flowconf.py and plugins -------------------------------------------------------------

FLOWCONFS: dict[str, str] = {
    "syntax": "def (:\n", "import-error": "import no_such_module_xyz\n",
    "raise": "raise RuntimeError('boom')\n", "system-exit": "raise SystemExit(2)\n",
    "keyboard-interrupt": "raise KeyboardInterrupt\n",
    "base-exception": "raise BaseException('x')\n",
    "unknown-hook": "def flowrun_foo(config):\n    pass\n",
    "typo-hook": "def flowrun_configur(config):\n    pass\n",
    "wrong-args": "def flowrun_configure(cfg):\n    pass\n",
    "extra-args": "def flowrun_collect_file(path, config, extra):\n    return None\n",
    "configure-raises": "def flowrun_configure(config):\n    raise ValueError('bad')\n",
    "configure-exit": "def flowrun_configure(config):\n    raise SystemExit(9)\n",
    "addoption-raises": "def flowrun_addoption(parser):\n    raise ValueError('x')\n",
    "addoption-bad": "def flowrun_addoption(parser):\n    parser.addoption('nodash')\n",
    "collect-int": "def flowrun_collect_file(path, config):\n    return 5\n",
    "collect-list-int": "def flowrun_collect_file(path, config):\n    return [5]\n",
    "collect-str": "def flowrun_collect_file(path, config):\n    return 'flow'\n",
    "collect-raises": "def flowrun_collect_file(path, config):\n    raise OSError('x')\n",
    "collect-dict": "def flowrun_collect_file(path, config):\n    return {'a': 1}\n",
    "modify-raises": "def flowrun_collection_modifyitems(config, flows):\n"
                     "    raise RuntimeError('x')\n",
    "modify-clears": "def flowrun_collection_modifyitems(config, flows):\n    flows[:] = [5]\n",
    "make-executor-int": "def flowrun_make_executor(name, config):\n    return 5\n",
    "make-storage-int": "def flowrun_make_storage(url, config):\n    return 5\n",
    "make-storage-raises": "def flowrun_make_storage(url, config):\n    raise OSError('x')\n",
    "task-types-int": "def flowrun_task_types():\n    return 5\n",
    "task-types-list": "def flowrun_task_types():\n    return ['a']\n",
    "run-start-raises": "def flowrun_run_start(run):\n    raise RuntimeError('x')\n",
    "task-finish-raises": "def flowrun_task_finish(task):\n    raise RuntimeError('x')\n",
    "commands-int": "def flowrun_commands():\n    return 5\n",
    "hookimpl-bad-opt": "from flowrun.plugin import hookimpl\n"
                        "@hookimpl(wrapper=True)\ndef flowrun_configure(config):\n    pass\n",
    "unconfigure-raises": "def flowrun_unconfigure(config):\n    raise RuntimeError('x')\n",
    "session-start-raises": "def flowrun_session_start(session):\n    raise RuntimeError('x')\n",
}


def flowconf_cases() -> list[Case]:
    spec = {"flows/flow_s.json": '{"tasks": [{"key": "a", "task_type": "print"}]}'}
    cases = [Case(f"flowconf-{k}", "flowconf.py", {"flowconf.py": v,
                  **(spec if "task-types" in k else {})}, names=("flowconf",),
                  subprocess=True) for k, v in FLOWCONFS.items()]
    cases.append(Case("flowconf-bad-utf8", "flowconf.py", {"flowconf.py": b"x = '\xff'\n"},
                      names=("flowconf",), subprocess=True))
    cases.append(Case("flowconf-directory", "flowconf.py", {"flowconf.py/x": "",
                      "flows/flow_ok.py": "raise ValueError('x')\n"},
                      names=("flow_ok.py",), subprocess=True))
    plugin = {"plugin-import-error": "import no_such_module_xyz\n",
              "plugin-raise": "raise RuntimeError('x')\n",
              "plugin-unknown-hook": "def flowrun_bar():\n    pass\n",
              "plugin-exit": "raise SystemExit(1)\n"}
    for key, source in plugin.items():
        cases.append(Case(f"{key}-p", "flowconf.py", {"myplug.py": source},
                          args=("-p", "myplug"), names=("myplug",), subprocess=True))
        cases.append(Case(f"{key}-ini", "flowconf.py", {"myplug.py": source,
                          "flowrun.toml": 'plugins = ["myplug"]\n'},
                          names=("myplug",), subprocess=True))
    return cases


# -- the command line --------------------------------------------------------------------

CLI: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "junitxml-root": (("--junitxml", "/"), ("--junitxml",)),
    "junitxml-in-file": (("--junitxml", "flows/flow_ok.py/r.xml"), ("--junitxml",)),
    "junitxml-dev-full": (("--junitxml", "/dev/full"), ("--junitxml",)),
    "junitxml-proc": (("--junitxml", "/proc/nope.xml"), ("--junitxml",)),
    "junitxml-empty": (("--junitxml", ""), ("--junitxml",)),
    "report-json-root": (("--report-json", "/"), ("--report-json",)),
    "report-json-in-file": (("--report-json", "flowrun.toml/r.json"), ("--report-json",)),
    "report-json-dir": (("--report-json", "flows"), ("--report-json",)),
    "store-missing-parent": (("--store", "/nonexistent_xyz/a/b.db"), ("store",)),
    "store-root": (("--store", "/"), ("store",)),
    "store-dir": (("--store", "flows"), ("store",)),
    "store-dev-null": (("--store", "/dev/null"), ("store",)),
    "store-scheme": (("--store", "nope://x"), ("nope://x",)),
    "store-empty-sqlite": (("--store", "sqlite:///"), ("store",)),
    "store-file-parent": (("--store", "flows/flow_ok.py/x.db"), ("store",)),
    "store-not-db": (("--store", "flows/flow_ok.py"), ("store",)),
    "workers-zero": (("-n", "0"), ("workers",)),
    "workers-neg": (("-n", "-1"), ("-1",)),
    "workers-str": (("-n", "x"), ("-n",)),
    "workers-huge": (("-n", "99999999999999999999"), ("workers",)),
    "timeout-nan": (("--timeout", "nan"), ("--timeout",)),
    "timeout-inf": (("--timeout", "inf"), ("--timeout",)),
    "timeout-huge": (("--timeout", "1e308"), ("--timeout",)),
    "retries-neg": (("--retries", "-1"), ("--retries",)),
    "retries-huge": (("--retries", "99999999999999999999"), ("--retries",)),
    "param-no-eq": (("--param", "x"), ("--param",)),
    "param-empty-name": (("--param", "=1"), ("--param",)),
    "param-unknown": (("--param", "nope=1"), ("nope",)),
    "k-bad": (("-k", "and"), ("and",)), "k-paren": (("-k", "("), ("(",)),
    "k-empty-not": (("-k", "not"), ("not",)), "m-bad": (("-m", "a b"), ("a b",)),
    "k-unicode": (("-k", "\u00e9 and"), ("and",)),
    "executor-unknown": (("--executor", "nope"), ("nope",)),
    "executor-empty": (("--executor", ""), ("executor",)),
    "plugin-unknown": (("-p", "no_such_plugin_xyz"), ("no_such_plugin_xyz",)),
    "plugin-empty": (("-p", ""), ("plugin",)),
    "plugin-dotted": (("-p", "os.nope"), ("os.nope",)),
    "plugin-relative": (("-p", ".x"), (".x",)),
    "plugin-path": (("-p", "flows/flow_ok.py"), ("flows/flow_ok.py",)),
    "plugin-no-empty": (("-p", "no:"), ("no:",)),
    "missing-path": (("flows/nope.py",), ("flows/nope.py",)),
    "missing-node": (("flows/flow_ok.py::nope",), ("nope",)),
    "empty-node": (("flows/flow_ok.py::",), ("flow_ok.py",)),
    "node-in-dir": (("flows::ok",), ("flows",)),
    "nul-arg": (("flows/flow\x00.py",), ("flow",)),
    "resume-unknown": (("--resume", "nope"), ("nope",)),
    "backfill-bad": (("--backfill", "x..y"), ("backfill",)),
    "partition-unpartitioned": (("--partition", "2024"), ("partition",)),
    "only-bad": (("--backfill", "..", "--only", "bad"), ("only",)),
    "only-alone": (("--only", "failed"), ("--only",)),
    "watch-due": (("--watch", "--due"), ("--due",)),
    "unknown-option": (("--nope",), ("--nope",)),
    "show-unknown": (("show", "nope"), ("nope",)),
    "logs-unknown": (("logs", "nope"), ("nope",)),
    "history-limit": (("history", "--limit", "0"), ("--limit",)),
    "graph-missing": (("graph", "flows/nope.py"), ("nope",)),
    "graph-format": (("graph", "flows/flow_ok.py", "--format", "nope"), ("--format",)),
    "graph-output-root": (("graph", "flows/flow_ok.py", "-o", "/"), ("/",)),
    "graph-output-in-file": (("graph", "flows/flow_ok.py", "-o", "flowrun.toml/x"), ("-o",)),
    "explain-missing": (("explain", "flows/nope.py"), ("nope",)),
    "durations-str": (("--durations", "x"), ("--durations",)),
    "nothing-matches": (("-k", "zzz_nothing"), ()),
}


def cli_cases() -> list[Case]:
    codes = {"nothing-matches": (5,)}
    return [Case(f"cli-{k}", "command line", {}, args=args, names=names,
                 codes=codes.get(k, (1, 4, 5)),
                 subprocess=k.startswith(("timeout", "store", "nul")))
            for k, (args, names) in CLI.items()]


def all_cases() -> list[Case]:
    return [*task_option_cases(), *flow_option_cases(), *flow_file_cases(),
            *lying_code_cases(), *config_cases(), *spec_cases(), *flowconf_cases(),
            *cli_cases()]


# -- making and judging a case -----------------------------------------------------------

def build(case: Case, root: Path) -> None:
    """Write the base project and then the case's files over it."""
    for relpath, content in {**BASE, **case.files}.items():
        target = root / relpath
        if content is DELETE:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if not isinstance(content, (str, bytes)) and target.is_file():
            target.unlink()  # the project fixture's own flowrun.toml, say
        if content is FIFO:
            os.mkfifo(target)
        elif content is DIRECTORY:
            target.mkdir()
        elif isinstance(content, Symlink):
            os.symlink(content.target, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content))


def problems(case: Case, code: int, output: str) -> list[str]:
    """What is wrong with how flowrun answered ``case`` (empty: nothing)."""
    found = []
    if "INTERNAL ERROR" in output or _own_frames(output):
        found.append("internal traceback")
    if code not in case.codes:
        found.append(f"exit {code}")
    missing = [n for n in case.names if n not in output]
    if missing:
        found.append(f"output does not name {missing[0]!r}")
    return found


def _own_frames(output: str) -> bool:
    return any(line.strip().startswith('File "') and "/flowrun/" in line
               for line in output.splitlines())


def run_subprocess(case: Case, root: Path, timeout: float = 30) -> tuple[int | None, str]:
    """``flowrun ARGS`` in ``root`` as a real process; (None, output) if it hung."""
    env = {k: v for k, v in os.environ.items() if k != "FLOWRUN_STORE"}
    argv = flowrun_command(*case.args)
    try:
        proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
        return None, out.decode(errors="replace")
    except ValueError as exc:  # an argument Python cannot pass (a NUL byte)
        return 4, f"cannot pass the arguments: {exc} (flow)"
    return proc.returncode, (proc.stdout + proc.stderr).decode(errors="replace")


def judge(case: Case, timeout: float = 30) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(case, root)
        code, output = run_subprocess(case, root, timeout)
    if code is None:
        return ["hang"]
    return problems(case, code, output)


def main() -> None:
    """Run every case as a real process (2 at a time); print counts by category."""
    from collections import Counter
    from concurrent.futures import ThreadPoolExecutor

    cases = all_cases()
    with ThreadPoolExecutor(2) as pool:
        verdicts = list(pool.map(lambda c: judge(c, 20), cases))
    totals, bad, kinds = Counter(), Counter(), Counter()
    for case, found in zip(cases, verdicts):
        totals[case.category] += 1
        if found:
            bad[case.category] += 1
            kinds[(case.category, found[0].split(" '")[0])] += 1
            if "-v" in sys.argv:
                print(f"{case.id}: {'; '.join(found)}")
    for category in totals:
        print(f"{category:14} {totals[category]:4} cases, {bad[category]:4} wrong")
    print(f"{'total':14} {sum(totals.values()):4} cases, {sum(bad.values()):4} wrong")
    for (category, kind), n in sorted(kinds.items()):
        print(f"  {category}: {kind}: {n}")


if __name__ == "__main__":
    main()
