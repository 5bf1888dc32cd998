"""Cached tasks and declared files, end to end (API section 10): what makes a cached task
run again and what leaves it ``cached`` (up to date), in the spirit of doit's,
Snakemake's and DVC's own tests: real flow files, real data files, a real store."""
from __future__ import annotations

import json
import os
import time

import pytest
from test_json_outputs import validate

PIPE = """
    import os
    from pathlib import Path
    from flowrun import task

    @task(reads=["data/in.txt"], writes=["out/a.txt"], cache=True)
    def a():
        os.makedirs("out", exist_ok=True)
        text = Path("data/in.txt").read_text()
        Path("out/a.txt").write_text(text.upper())
        return len(text)

    @task(cache=True)
    def b(a):
        return a * 10

    @task(reads=["out/a.txt"], cache=True)
    def c():
        return Path("out/a.txt").read_text()
"""
A, B, C = (f"flows/flow_d.py::{n}" for n in "abc")


def pipeline(project, data="hello\n", flow=PIPE):
    project.write("flows/flow_d.py", flow)
    project.write("data/in.txt", data)
    return project.run("-v")


def statuses(result):
    assert result.exit_code in (0, 1), result.output
    return {tid.rpartition("::")[2]: status for tid, status in result.statuses().items()}


def explain(project, *args):
    result = project.run("explain", "--json", *args)
    assert result.exit_code == 0, result.output + result.stderr
    return {v["task"]: v for v in json.loads(result.stdout)["flows/flow_d.py"]}


def test_a_second_run_with_nothing_changed_is_all_cached(project):
    first = pipeline(project)
    assert statuses(first) == {"a": "succeeded", "b": "succeeded", "c": "succeeded"}
    second = project.run("-v")
    assert statuses(second) == {"a": "cached", "b": "cached", "c": "cached"}
    assert f"{A} CACHED - up to date" in second.output
    assert second.result(B) == 60  # the stored result is passed on


def test_touch_changes_nothing(project):
    pipeline(project)
    later = time.time() + 5
    os.utime(project.path / "data/in.txt", (later, later))
    assert set(statuses(project.run()).values()) == {"cached"}


def test_a_changed_read_reruns_its_reader_and_what_it_writes_for(project):
    pipeline(project)
    project.write("data/in.txt", "world!\n")
    assert statuses(project.run()) == {"a": "succeeded", "b": "succeeded",
                                       "c": "succeeded"}


def test_a_read_changed_while_the_task_ran_is_not_recorded_fresh(project):
    project.write("flows/flow_d.py", """
        from pathlib import Path
        from flowrun import task

        @task(reads=["data/log.txt"], cache=True)
        def grow():
            if not Path("data/stop").exists():  # an outside writer, during the run
                Path("data/log.txt").write_text("longer than before\\n")
            return 1
    """)
    project.write("data/log.txt", "short\n")
    assert statuses(project.run()) == {"grow": "succeeded"}
    project.write("data/stop", "")
    assert statuses(project.run()) == {"grow": "succeeded"}  # fingerprinted as it started
    assert statuses(project.run()) == {"grow": "cached"}


def test_early_cutoff_an_upstream_with_the_same_result_leaves_downstream_cached(project):
    pipeline(project)
    project.write("data/in.txt", "jello\n")  # same length: a's result is the same
    found = statuses(project.run())
    assert (found["a"], found["b"]) == ("succeeded", "cached")
    assert found["c"] == "succeeded"  # it reads out/a.txt, which changed


def test_a_deleted_or_changed_output_reruns_its_writer(project):
    pipeline(project)
    (project.path / "out/a.txt").unlink()
    assert statuses(project.run())["a"] == "succeeded"
    project.write("out/a.txt", "tampered")
    assert statuses(project.run())["a"] == "succeeded"
    assert statuses(project.run())["a"] == "cached"


def test_expiry_reruns_an_old_success(project):
    pipeline(project, flow=PIPE.replace('writes=["out/a.txt"], cache=True',
                                        'writes=["out/a.txt"], cache="1s"'))
    time.sleep(1.2)
    assert statuses(project.run())["a"] == "succeeded"
    assert explain(project)["a"]["verdict"] == "cached"


def test_a_task_without_cache_always_runs(project):
    pipeline(project, flow=PIPE.replace("@task(cache=True)", "@task"))
    assert statuses(project.run())["b"] == "succeeded"


def test_cache_false_opts_out_of_a_flow_wide_cache(project):
    flow = PIPE.replace("from flowrun import task", "from flowrun import Flow, task\n"
                        "    flow = Flow(cache=True)").replace("@task(cache=True)",
                                                           "@task(cache=False)")
    flow = flow.replace('reads=["out/a.txt"], cache=True', 'reads=["out/a.txt"]')
    pipeline(project, flow=flow)
    assert statuses(project.run()) == {"a": "cached", "b": "succeeded", "c": "cached"}


def test_config_cache_true_caches_every_task(project):
    project.write("flowrun.toml", "cache = true\n")
    pipeline(project, flow=PIPE.replace("cache=True", "cache=None"))
    assert set(statuses(project.run()).values()) == {"cached"}


def test_a_parameter_change_reruns_and_explain_names_it(project):
    flow = """
        from flowrun import task

        @task(cache=True)
        def p(day: str = "mon"):
            return day
    """
    project.write("flows/flow_d.py", flow)
    project.run()
    assert statuses(project.run("--param", "day=tue")) == {"p": "succeeded"}
    found = explain(project, "--param", "day=wed")["p"]
    assert found["reasons"] == ["parameter day: 'tue' -> 'wed'"]
    assert found["changes"][0]["kind"] == "param"


def test_mapped_instances_each_have_their_own_fingerprint(project):
    project.write("flows/flow_d.py", """
        from pathlib import Path
        from flowrun import task

        @task(each={"region": ["eu", "us"]}, cache=True,
              reads=["data/{region}.txt"])
        def per(region):
            return Path(f"data/{region}.txt").read_text()
    """)
    project.write("data/eu.txt", "1")
    project.write("data/us.txt", "2")
    project.run()
    project.write("data/us.txt", "3")
    found = project.run().statuses()
    assert found["flows/flow_d.py::per[0]"] == "cached"
    assert found["flows/flow_d.py::per[1]"] == "succeeded"


def test_a_mapped_upstream_cached_or_run_passes_on_the_same_result(project):
    project.write("flows/flow_d.py", """
        from flowrun import Flow, task

        flow = Flow(cache=True)

        @task(each={"region": ["eu", "us"]})
        def per(region):
            return {"region": region, "units": len(region)}  # keys shared across instances

        @task
        def board(per):
            return [row["region"] for row in per]
    """)
    assert set(statuses(project.run()).values()) == {"succeeded"}
    second = statuses(project.run())
    assert (second["per[0]"], second["per[1]"], second["board"]) == ("cached",) * 3, second


def test_explain_names_the_changed_file_with_hashes_and_sizes(project):
    pipeline(project)
    validate("explain", json.loads(project.run("explain", "--json").stdout))  # all cached
    project.write("data/in.txt", "a longer text\n")
    found = explain(project)
    assert found["a"]["verdict"] == "run"
    [change] = found["a"]["changes"]
    assert change["kind"] == "read" and change["name"] == "data/in.txt"
    assert change["old"][1] == 6 and change["new"][1] == 14
    assert change["new"][0].startswith("sha256:")
    assert found["a"]["reasons"][0].startswith("file data/in.txt: ")
    assert "(6 bytes) -> " in found["a"]["reasons"][0]
    assert found["b"]["reasons"][0].startswith("decided at run time: a runs first")
    result = project.run("explain", "--json")
    validate("explain", json.loads(result.stdout))  # changes and reused_by as the schema says


def test_explain_says_never_succeeded_and_missing_outputs(project):
    project.write("flows/flow_d.py", PIPE)
    project.write("data/in.txt", "x")
    assert explain(project)["a"]["reasons"] == ["never succeeded"]
    project.run()
    (project.path / "out/a.txt").unlink()
    assert explain(project)["a"]["reasons"] == ["declared output out/a.txt missing"]


def test_force_reruns_the_named_task_and_reuses_its_upstream(project):
    pipeline(project)
    result = project.run("--force", "flows/flow_d.py::b")
    assert statuses(result) == {"a": "cached", "b": "succeeded"}
    assert explain(project, "--force", "flows/flow_d.py::b")["b"]["reasons"] == ["forced"]


def test_resume_with_force_reruns_the_task_and_its_downstream(project):
    flow = PIPE + """
    @task
    def d(b):
        if Path("data/in.txt").read_text() == "boom\\n":
            raise ValueError("boom")
        return b
    """
    pipeline(project, data="boom\n", flow=flow)
    project.write("data/in.txt", "hello\n")  # d would now pass; a reruns: its read changed
    result = project.run("--resume", "--force", "flows/flow_d.py::a")
    assert statuses(result)["a"] == "succeeded"
    assert statuses(result)["d"] == "succeeded"


def test_a_missing_read_fails_the_task_with_one_line(project):
    project.write("flows/flow_d.py", PIPE)
    result = project.run()
    assert result.exit_code == 1
    assert statuses(result)["a"] == "failed"
    assert "declared read data/in.txt does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_declared_write_not_produced_fails_the_task(project):
    project.write("flows/flow_d.py", """
        from flowrun import task

        @task(writes=["out/never.txt"])
        def lazy():
            return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "declared write out/never.txt was not produced by the task" in result.output


def test_a_part_that_cannot_be_fingerprinted_runs_with_a_reason(project):
    project.write("flows/flow_d.py", """
        import threading
        from flowrun import task

        LOCK = threading.Lock()

        @task(cache=True)
        def guarded():
            with LOCK:
                return 1
    """)
    project.run()
    result = project.run("-v")
    assert statuses(result) == {"guarded": "succeeded"}
    assert "not cached: " in result.output and "LOCK" in result.output
    assert "cannot be fingerprinted" in explain(project)["guarded"]["reasons"][0]


def test_a_fingerprint_of_another_format_is_recomputed_once(project):
    pipeline(project)
    with project.storage() as store:
        text, success = store.get_fingerprint(A, "")
        store.record_fingerprint(A, "", text.replace('"format":1', '"format":0'), success)
        store.flush()
    assert "format changed" in explain(project)["a"]["reasons"][0]
    assert statuses(project.run())["a"] == "succeeded"
    assert statuses(project.run())["a"] == "cached"


def test_an_edit_to_a_helper_in_another_module_reruns_a_comment_does_not(project):
    project.write("flows/lib_text.py", "def shout(t):\n    return t.upper()\n")
    project.write("flows/flow_d.py", """
        from flowrun import task
        from lib_text import shout

        @task(cache=True)
        def s():
            return shout("hi")
    """)
    assert project.run_subprocess().exit_code == 0
    project.write("flows/lib_text.py", "def shout(t):\n    # louder\n    return t.upper()\n")
    assert "1 cached" in project.run_subprocess().stdout
    project.write("flows/lib_text.py", "def shout(t):\n    return t.upper() + '!'\n")
    explained = project.run_subprocess("explain").stdout
    assert "code lib_text.shout (flows/lib_text.py:1) changed" in explained
    assert "1 succeeded" in project.run_subprocess().stdout


@pytest.mark.parametrize("option, shown", [
    ('reads=5', "bad option reads=5"),
    ('cache="12x"', "bad option cache='12x'"),
    ('reads=["data/{nope}.txt"]', "{nope} names no flow parameter"),
    ('writes=["/etc/passwd"]', "bad option writes='/etc/passwd'"),
    ('cahce=True', "unknown @task option 'cahce' (did you mean 'cache'?)"),
])
def test_bad_data_options_are_collection_errors(project, option, shown):
    project.write("flows/flow_d.py", f"""
        from flowrun import task

        @task({option})
        def t(day: str = "mon"):
            return 1
    """)
    result = project.run()
    assert result.exit_code == 1
    assert shown in result.output + result.stderr
    assert "Traceback" not in result.output


def test_files_make_edges_shown_by_graph(project):
    project.write("flows/flow_d.py", PIPE)
    result = project.run("graph", "flows/flow_d.py", "--format", "json")
    assert result.exit_code == 0, result.output
    edges = {(e["src_key"], e["dest_key"])
             for e in json.loads(result.stdout)["graph"]["edges"]}
    assert ("a", "c") in edges  # c reads out/a.txt, which a writes


def test_a_cycle_through_files_is_a_collection_error(project):
    project.write("flows/flow_d.py", """
        from flowrun import task

        @task(reads=["x.txt"], writes=["y.txt"])
        def one():
            pass

        @task(reads=["y.txt"], writes=["x.txt"])
        def two():
            pass
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "dependency cycle" in result.output + result.stderr


def test_each_reused_task_says_what_reused_it(project):
    flow = PIPE + """
    @task(run_key=lambda: "k")
    def keyed():
        return 1

    @task
    def boom(b):
        raise ValueError("boom")
    """
    first = pipeline(project, flow=flow)
    assert first.exit_code == 1
    result = project.run("-v", "--resume")
    run_id = first.new_runs()[0]["id"]
    assert f"{A} CACHED - resumed from run {run_id}" in result.output
    again = project.run("-v")
    assert f"{A} CACHED - up to date" in again.output
    assert "flows/flow_d.py::keyed CACHED - run key 'k' (succeeded in run " in again.output


def test_a_parameter_may_put_a_declared_file_outside_the_rootdir(project, tmp_path):
    project.write("flows/flow_d.py", """
        from pathlib import Path
        from flowrun import task

        @task(writes=["{out_dir}/r.txt"], cache=True)
        def save(out_dir: str = "out"):
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            Path(out_dir, "r.txt").write_text("r")
    """)
    elsewhere = str(tmp_path / "elsewhere")
    assert statuses(project.run("--param", f"out_dir={elsewhere}")) == {"save": "succeeded"}
    assert statuses(project.run("--param", f"out_dir={elsewhere}")) == {"save": "cached"}
    os.remove(os.path.join(elsewhere, "r.txt"))
    assert statuses(project.run("--param", f"out_dir={elsewhere}")) == {"save": "succeeded"}
