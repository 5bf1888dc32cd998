"""Collection: discovery, pytest-style imports, and one clear error per broken file."""
from __future__ import annotations

import pytest

GOOD = """
    from flowrun import task
    @task
    def ok(): return 1
"""


def test_syntax_error_is_reported_and_other_files_still_run(project):
    project.write("flows/flow_good.py", GOOD)
    project.write("flows/flow_bad.py", "from flowrun import task\n@task\ndef broken(:\n")
    result = project.run()
    assert result.exit_code == 1
    assert result.status("flows/flow_good.py::ok") == "succeeded"
    assert "ERROR collecting flows/flow_bad.py" in result.output
    assert "flows/flow_bad.py:3: syntax error" in result.output
    assert "1 succeeded, 1 error" in result.lines[-1]


def test_import_error_shows_only_the_users_traceback(project):
    project.write("flows/flow_imp.py", """
        import helper_that_breaks
        from flowrun import task
        @task
        def t(): return 1
    """)
    project.write("flows/helper_that_breaks.py", "raise RuntimeError('bad helper')\n")
    result = project.run()
    assert result.exit_code == 1
    assert "RuntimeError: bad helper" in result.output
    assert 'helper_that_breaks.py", line 1' in result.output
    assert "importlib" not in result.output
    assert "site-packages/flowrun" not in result.output and "/flowrun/collect.py" not in result.output


def test_unknown_parameter_suggests_a_task(project):
    project.write("flows/flow_typo.py", """
        from flowrun import task
        @task
        def extract(): return 1
        @task
        def clean(extrac): return extrac
    """)
    result = project.run()
    assert result.exit_code == 1
    assert ("flows/flow_typo.py::clean: parameter 'extrac' names no task of the flow and has "
            "no default (did you mean 'extract'?)") in result.output


def test_cycle_is_printed(project):
    project.write("flows/flow_cycle.py", """
        from flowrun import task
        @task
        def a(c): return 1
        @task
        def b(a): return 1
        @task
        def c(b): return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "dependency cycle a -> b -> c -> a" in result.output


def test_two_tasks_with_one_name(project):
    project.write("flows/flow_dup.py", """
        from flowrun import task
        @task
        def load(): return 1
        @task
        def load(): return 2
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "two tasks are named 'load'" in result.output


def test_same_basename_in_two_folders_does_not_clash(project):
    project.write("a/flow_x.py", "from flowrun import task\n@task\ndef t(): return 'a'\n")
    project.write("b/flow_x.py", "from flowrun import task\n@task\ndef t(): return 'b'\n")
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.result("a/flow_x.py::t") == "a"
    assert result.result("b/flow_x.py::t") == "b"


def test_flow_imports_helper_beside_it(project):
    project.write("flows/shared.py", "VALUE = 42\n")
    project.write("flows/flow_h.py", """
        from shared import VALUE
        from flowrun import task
        @task
        def t(): return VALUE
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_h.py::t") == 42


def test_config_flowpaths_and_python_files(project):
    project.write("flowrun.toml", 'flowpaths = ["pipelines"]\npython_files = ["pipe_*.py"]\n')
    project.write("pipelines/pipe_one.py", GOOD)
    project.write("pipelines/flow_ignored.py", GOOD)
    project.write("elsewhere/pipe_two.py", GOOD)
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.statuses() == {"pipelines/pipe_one.py::ok": "succeeded"}


def test_pyproject_tool_section_sets_rootdir(project, tmp_path):
    (tmp_path / "flowrun.toml").unlink()
    project.write("pyproject.toml", '[tool.flowrun]\nflowpaths = ["flows"]\n')
    project.write("flows/flow_p.py", GOOD)
    sub = tmp_path / "flows"
    from flowrun.testing import Project
    result = Project(sub).run()
    assert "rootdir: " + str(tmp_path) in result.output
    assert result.exit_code == 0


def test_nothing_collected_exits_5(project):
    result = project.run()
    assert result.exit_code == 5
    assert "collected 0 tasks in 0 flows" in result.output


def test_more_than_one_flow_object_is_an_error(project):
    project.write("flows/flow_two.py", """
        from flowrun import Flow, task
        one = Flow()
        two = Flow()
        @task
        def t(): return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "more than one Flow(...)" in result.output


@pytest.mark.parametrize("option, message", [
    ("retries=-1", "bad option retries=-1"),
    ("run_if='sometimes'", "bad option run_if='sometimes'"),
    ("each='nothing'", "bad option each='nothing'"),
    ("timeout=0", "bad option timeout=0"),
    ("limit='db'", "bad option limit='db': no such concurrency group"),
])
def test_bad_option_is_a_collection_error_naming_file_task_and_option(project, option, message):
    project.write("flows/flow_opt.py", f"""
        from flowrun import task
        @task
        def up(): return [1]
        @task({option})
        def t(up): return up
    """)
    result = project.run()
    assert result.exit_code == 1
    assert f"flows/flow_opt.py::t: {message}" in result.output


def test_task_parameters_read_from_code_match_inspect_signature():
    """Collection reads a plain function's parameters from its code object (faster than
    ``inspect.signature``); every shape of signature must come out the same."""
    import functools
    import inspect

    from flowrun.graph import parameters

    def expected(fn):
        return [(n, p.default) for n, p in inspect.signature(fn).parameters.items()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def every_kind(a, b=2, *args, c, d=4, **kwargs): ...
    def positional_only(a, /, b, c=None): ...
    def keyword_only(*, k, j="x"): ...

    @functools.wraps(every_kind)
    def wrapper(*args, **kwargs): ...

    class Callable:
        def __call__(self, u, v=1): ...

    for fn in (every_kind, positional_only, keyword_only, wrapper, lambda: None,
               functools.partial(every_kind, 1), Callable()):
        assert parameters(fn) == expected(fn), fn
