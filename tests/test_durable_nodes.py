"""Every node is a task (API section 3): mapped instances, submitted children and
subflow tasks that succeeded are reused by ``--resume``, are matched by id, code and
arguments, and take ``run_key`` and subflow parameters like tasks in the file."""
from __future__ import annotations

from all_executors import executor  # noqa: F401 - the fixture

MARK = """
import os
def mark(name):
    with open(os.path.join(os.environ.get("MARKS", "."), "marks.txt"), "a") as f:
        f.write(name + "\\n")
"""


def marks(project) -> list[str]:
    path = project.path / "marks.txt"
    lines = path.read_text().split() if path.exists() else []
    path.write_text("")
    return lines


def test_resume_reuses_the_static_instances_that_succeeded(project, executor):
    project.write("flows/helpers.py", MARK)
    project.write("flows/flow_e.py", """
        import os
        from flowrun import task
        from helpers import mark
        @task(each={"i": [1, 2, 3]})
        def t(i):
            mark(f"t{i}")
            if i == 2 and not os.path.exists("ok"): raise RuntimeError("two fails")
            return i * 10
        @task
        def total(t): return sum(t)
    """)
    assert project.run(*executor).exit_code == 1
    assert sorted(marks(project)) == ["t1", "t2", "t3"]
    (project.path / "ok").write_text("")
    result = project.run("--resume", *executor)
    assert result.exit_code == 0, result.output
    assert marks(project) == ["t2"]
    s = result.statuses()
    assert s["flows/flow_e.py::t[0]"] == "cached" and s["flows/flow_e.py::t[2]"] == "cached"
    assert s["flows/flow_e.py::t[1]"] == "succeeded"
    assert result.result("flows/flow_e.py::total") == 60


def test_resume_reuses_dynamic_instances_and_reruns_those_whose_item_changed(project,
                                                                           executor):
    project.write("flows/helpers.py", MARK)
    project.write("flows/flow_d.py", """
        import os
        from flowrun import task
        from helpers import mark
        @task
        def items(last=3): return [1, 2, last]
        @task(each="items")
        def sq(items):
            mark(f"sq{items}")
            if items == 3: raise RuntimeError("3 fails")
            return items * items
    """)
    project.run(*executor)
    marks(project)
    result = project.run("--resume", *executor, params={"last": 5})
    assert result.exit_code == 0, result.output
    assert marks(project) == ["sq5"]  # items ran again; sq[0] and sq[1]: same items
    assert result.status("flows/flow_d.py::items") == "succeeded"
    assert result.status("flows/flow_d.py::sq[0]") == "cached"
    assert result.result("flows/flow_d.py::sq") == [1, 4, 25]


def test_resume_gives_a_resubmitting_parent_its_childrens_stored_results(project):
    project.write("flows/helpers.py", MARK)
    project.write("flows/flow_c.py", """
        import os
        from flowrun import task, submit
        from helpers import mark
        def fetch(n):
            mark(f"fetch{n}")
            return n + 100
        @task
        def parent():
            got = [f.result() for f in [submit(fetch, n) for n in (1, 2, 3)]]
            mark("parent")
            if not os.path.exists("ok"): raise RuntimeError("after the children")
            return got
    """)
    assert project.run().exit_code == 1
    assert sorted(marks(project)) == ["fetch1", "fetch2", "fetch3", "parent"]
    (project.path / "ok").write_text("")
    result = project.run("--resume")
    assert result.exit_code == 0, result.output
    assert marks(project) == ["parent"]
    assert result.status("flows/flow_c.py::parent::fetch[1]") == "cached"
    assert result.result("flows/flow_c.py::parent") == [101, 102, 103]


def test_a_child_whose_arguments_changed_runs_again(project):
    project.write("flows/helpers.py", MARK)
    project.write("flows/flow_c.py", """
        import os
        from flowrun import task, submit
        from helpers import mark
        def fetch(n):
            mark(f"fetch{n}")
            return n
        @task
        def parent():
            first = 7 if os.path.exists("ok") else 1
            got = [submit(fetch, first).result(), submit(fetch, 2).result()]
            if not os.path.exists("ok"): raise RuntimeError("no")
            return got
    """)
    project.run()
    marks(project)
    (project.path / "ok").write_text("")
    result = project.run("--resume")
    assert marks(project) == ["fetch7"]
    assert result.status("flows/flow_c.py::parent::fetch[0]") == "succeeded"
    assert result.status("flows/flow_c.py::parent::fetch[1]") == "cached"


SEQUENT = {
    "flows/flow_seq.py": """
        from flowrun import task, run_flow
        from helpers import mark
        @task(each={"i": [1, 2]}, executor="thread")
        def s1(i): return run_flow("sub/flow_s1.py", i=i)
        @task
        def s2(s1): mark("s2")
    """,
    "flows/sub/flow_s1.py": """
        from flowrun import task, run_flow
        from helpers import mark
        @task(each={"j": [1, 2]}, executor="thread")
        def s11(j, i=0): return run_flow("flow_s11.py", i=i, j=j)
        @task
        def s12(s11, i=0): mark(f"s12.{i}")
    """,
    "flows/sub/flow_s11.py": """
        import os
        from flowrun import task
        from helpers import mark
        @task
        def s111(i=0, j=0):
            mark(f"s111.{i}.{j}")
            if (i, j) == (2, 2) and not os.path.exists("ok"): raise RuntimeError("s111")
        @task
        def s112(s111, i=0, j=0): mark(f"s112.{i}.{j}")
    """,
}


def test_sequents_recovery_example_reruns_only_what_failed(project, executor):
    """The Sequent seed: s1 repeats [1, 2] around s11 repeating [1, 2] (s111 -> s112),
    then s12, then s2; s111 fails at 2.2; recovery runs only s111 and s112 of 2.2, s12
    of 2, and s2."""
    project.write("flows/helpers.py", MARK)
    project.write("flows/sub/helpers.py", MARK)
    for path, text in SEQUENT.items():
        project.write(path, text)
    first = project.run("flows/flow_seq.py", *executor)
    assert first.exit_code == 1, first.output
    assert sorted(marks(project)) == sorted(
        ["s111.1.1", "s112.1.1", "s111.1.2", "s112.1.2", "s12.1",
         "s111.2.1", "s112.2.1", "s111.2.2"])
    (project.path / "ok").write_text("")
    result = project.run("--resume", "flows/flow_seq.py", *executor)
    assert result.exit_code == 0, result.output
    assert sorted(marks(project)) == ["s111.2.2", "s112.2.2", "s12.2", "s2"]
    s = result.statuses()
    assert s["flows/flow_seq.py::s1[0]"] == "cached"
    assert s["flows/flow_seq.py::s1[1]::flow_s1::s11[0]"] == "cached"
    assert s["flows/flow_seq.py::s1[1]::flow_s1::s11[1]::flow_s11::s111"] == "succeeded"


def test_a_subflow_repeated_in_a_loop_reruns_only_the_failed_iteration(project):
    project.write("flows/helpers.py", MARK)
    project.write("flows/flow_loop.py", """
        from flowrun import task, run_flow
        @task(each={"n": [1, 2, 3]})
        def step(n): return run_flow("flow_body.py", n=n)
    """)
    project.write("flows/flow_body.py", """
        import os
        from flowrun import task
        from helpers import mark
        @task
        def work(n=0):
            mark(f"work{n}")
            if n == 3 and not os.path.exists("ok"): raise RuntimeError("3")
            return n
    """)
    project.run("flows/flow_loop.py")
    marks(project)
    (project.path / "ok").write_text("")
    result = project.run("--resume", "flows/flow_loop.py")
    assert result.exit_code == 0, result.output
    assert marks(project) == ["work3"]


def test_run_flow_parameters_reach_the_subflows_mapped_tasks(project, executor):
    project.write("flows/flow_top.py", """
        from flowrun import task, run_flow
        @task(executor="thread")
        def top(): return run_flow("flow_sub.py", scale=10)["per"]
    """)
    project.write("flows/flow_sub.py", """
        from flowrun import task
        @task(each={"x": [1, 2]})
        def per(x, scale=1): return x * scale
    """)
    result = project.run("flows/flow_top.py", *executor)
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_top.py::top") == [10, 20]


def test_a_nested_run_flow_path_starts_at_the_calling_flows_folder(project):
    project.write("flows/flow_top.py", """
        from flowrun import task, run_flow
        @task
        def top(): return run_flow("deep/flow_mid.py")["mid"]
    """)
    project.write("flows/deep/flow_mid.py", """
        from flowrun import task, run_flow
        @task
        def mid(): return run_flow("flow_leaf.py")["leaf"]
    """)
    project.write("flows/deep/flow_leaf.py", """
        from flowrun import task
        @task
        def leaf(): return "leaf"
    """)
    result = project.run("flows/flow_top.py")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_top.py::top") == "leaf"


def test_a_subflow_that_runs_itself_is_an_error_naming_the_chain(project):
    project.write("flows/flow_a.py", """
        from flowrun import task, run_flow
        @task
        def a(): return run_flow("flow_b.py")
    """)
    project.write("flows/flow_b.py", """
        from flowrun import task, run_flow
        @task
        def b(): return run_flow("flow_a.py")
    """)
    result = project.run("flows/flow_a.py")
    assert result.exit_code == 1
    assert "flows/flow_a.py -> flows/flow_b.py -> flows/flow_a.py" in result.output


def test_run_key_on_instances_skips_the_files_already_processed(project, executor):
    order = ["c.csv", "b.csv", "a.csv"]
    project.write("flows/helpers.py", MARK)
    project.write("flows/flow_files.py", """
        import json
        from flowrun import task
        from helpers import mark
        @task
        def files():
            with open("names.json") as f:
                return [{"name": n} for n in json.load(f)]
        @task(each="files", run_key=lambda files: files["name"])
        def load(files):
            mark(files["name"])
            return files["name"].upper()
    """)
    (project.path / "names.json").write_text('["a.csv", "b.csv"]')
    assert project.run(*executor).exit_code == 0
    assert sorted(marks(project)) == ["a.csv", "b.csv"]
    (project.path / "names.json").write_text(__import__("json").dumps(order))
    result = project.run(*executor)
    assert result.exit_code == 0, result.output
    assert marks(project) == [n for n in order if n not in ("a.csv", "b.csv")]
    assert result.result("flows/flow_files.py::load") == [n.upper() for n in order]


def test_explain_says_which_instances_their_run_keys_skip(project):
    flow = """
        from flowrun import task
        @task(each={{"name": {names}}}, run_key=lambda name: name)
        def load(name): return name.upper()
    """
    project.write("flows/flow_keys.py", flow.format(names='["a", "b"]'))
    assert project.run().exit_code == 0
    project.write("flows/flow_keys.py", flow.format(names='["c", "b", "a"]'))
    explained = project.run("explain")
    assert "2 of 3 instances cached by run key; 1 run: [0] 'c'" in explained.output
    result = project.run()
    assert [result.status(f"flows/flow_keys.py::load[{i}]") for i in range(3)] == \
        ["succeeded", "cached", "cached"]
    assert "all 3 instances cached" in project.run("explain").output


def test_a_retried_parent_gets_its_earlier_attempts_children_back(project):
    project.write("flows/helpers.py", MARK)
    project.write("flows/flow_r.py", """
        from flowrun import task, submit
        from helpers import mark
        def fetch(n):
            mark(f"fetch{n}")
            return n
        @task(retries=1)
        def parent(context):
            got = [submit(fetch, n).result() for n in (1, 2)]
            if context.attempt == 1: raise RuntimeError("first attempt fails")
            return got
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    assert sorted(marks(project)) == ["fetch1", "fetch2"]
    assert result.statuses()["flows/flow_r.py::parent::fetch[0]"] == "cached"
    assert result.result("flows/flow_r.py::parent") == [1, 2]


def test_explain_resume_counts_the_instances_that_will_be_reused(project):
    project.write("flows/flow_e.py", """
        from flowrun import task
        @task(each={"i": [1, 2, 3]})
        def t(i):
            if i == 2: raise RuntimeError("two fails")
            return i
    """)
    project.run()
    explained = project.run("explain", "--resume")
    assert "--resume: 2 of its instances, children or subflow tasks succeeded" \
        in explained.output


def test_a_retried_parent_gets_its_subflows_instances_back(project):
    project.write("flows/helpers.py", MARK)
    project.write("flows/flow_top.py", """
        from flowrun import task, run_flow
        @task(retries=1)
        def top(context):
            got = run_flow("flow_sub.py")["per"]
            if context.attempt == 1: raise RuntimeError("first attempt fails")
            return got
    """)
    project.write("flows/flow_sub.py", """
        from flowrun import task
        from helpers import mark
        @task(each={"x": [1, 2]})
        def per(x):
            mark(f"per{x}")
            return x
    """)
    result = project.run("flows/flow_top.py")
    assert result.exit_code == 0, result.output
    assert sorted(marks(project)) == ["per1", "per2"]
    rows = sorted((a.attempt, a.status) for a in
                  result.reports("flows/flow_top.py::top::flow_sub::per[1]"))
    assert rows == [(0, "cached"), (1, "succeeded")]
    assert result.result("flows/flow_top.py::top") == [1, 2]


def test_instance_lines_show_their_values_beside_the_id(project):
    project.write("flows/flow_r.py", """
        from flowrun import task
        @task(each={"region": ["eu", "us"]})
        def per(region):
            if region == "us": raise RuntimeError("us is down")
            return region
    """)
    result = project.run("-v")
    assert "flows/flow_r.py::per[0] region=eu SUCCEEDED" in result.output
    assert "FAILED flows/flow_r.py::per[1] region=us - RuntimeError: us is down" \
        in result.output


def test_the_same_subflow_run_twice_by_one_task_gets_two_groups(project):
    project.write("flows/flow_body.py", """
        from flowrun import task
        @task
        def t(n: int = 0): return n * 10
    """)
    project.write("flows/flow_main.py", """
        from flowrun import task, run_flow
        @task
        def twice(): return [run_flow("flow_body.py", n=n)["t"] for n in (1, 2)]
    """)
    result = project.run("flows/flow_main.py")
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_main.py::twice") == [10, 20]
    assert result.result("flows/flow_main.py::twice::flow_body::t") == 10
    assert result.result("flows/flow_main.py::twice::flow_body[1]::t") == 20
    assert result.attempts("flows/flow_main.py::twice::flow_body::t") == 1


def test_a_child_taking_a_set_of_strings_is_reused_whatever_the_hash_seed(project):
    project.write("flows/flow_s.py", """
        import os
        from flowrun import task, submit
        def count(names):
            with open("counted", "a") as f:
                f.write("x")
            return len(names)
        @task
        def parent():
            got = submit(count, {"alpha", "beta", "gamma", "delta", "epsilon"}).result()
            if not os.path.exists("ok"):
                raise RuntimeError("after the child")
            return got
    """)
    assert project.run_subprocess(env={"PYTHONHASHSEED": "1"}).exit_code == 1
    (project.path / "ok").write_text("")
    result = project.run_subprocess("--resume", env={"PYTHONHASHSEED": "2"})
    assert result.exit_code == 0, result.output
    assert result.status("flows/flow_s.py::parent::count[0]") == "cached"
    assert (project.path / "counted").read_text() == "x"
