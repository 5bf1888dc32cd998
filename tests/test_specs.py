"""Spec flows (flows as data, the MissionControl seed): flow_*.yaml / flow_*.json files
whose tasks are registered task types, and Flow.to_dict() / Flow.from_dict()."""
from __future__ import annotations

import json

import pytest

from flowrun.model import Flow

SEED_SPEC = {
    "label": "example_flow",
    "tasks": [
        {"key": "task_1", "task_type": "print", "task_params": {"msg": "I am task_1."}},
        {"key": "task_2", "task_type": "print", "task_params": {"msg": "I am task_2."}},
    ],
}

# The seed's "jsonified flow" for SEED_SPEC, as its docs print it.
SEED_SERIALIZED = {
    "cfg": {"fail_fast": True},
    "data": {},
    "depth": 0,
    "graph": {
        "edges": [{"dest_key": "task_1", "src_key": "ROOT"},
                  {"dest_key": "task_2", "src_key": "task_1"}],
        "tasks": {
            "ROOT": {"key": "ROOT", "status": "COMPLETED"},
            "task_1": {"key": "task_1", "precursors": ["ROOT"], "status": "PENDING",
                       "task_params": {"msg": "I am task_1."}, "task_type": "print"},
            "task_2": {"key": "task_2", "precursors": ["task_1"], "status": "PENDING",
                       "task_params": {"msg": "I am task_2."}, "task_type": "print"},
        },
    },
    "label": "example_flow",
    "num_tickable_tasks": 1,
    "parent_key": None,
    "status": "PENDING",
}


def test_seed_to_dict_matches_the_serialized_shape():
    flow = Flow.from_dict(json.loads(json.dumps(SEED_SPEC)))
    assert json.loads(json.dumps(flow.to_dict())) == SEED_SERIALIZED


def test_from_dict_of_to_dict_round_trips():
    serialized = Flow.from_dict(SEED_SPEC).to_dict({"task_1": "succeeded"})
    assert serialized["graph"]["tasks"]["task_1"]["status"] == "COMPLETED"
    assert serialized["num_tickable_tasks"] == 1 and serialized["status"] == "RUNNING"
    assert Flow.from_dict(serialized).to_dict() == serialized


def test_missing_keys_and_successors_follow_missioncontrol():
    flow = Flow.from_dict({"tasks": [
        {"task_type": "print", "successors": ["task_3"]},
        {"task_type": "print", "precursors": ["ROOT"]},
        {"task_type": "print", "precursors": ["task_2"]},
    ]})
    assert {name: t.upstream for name, t in flow.tasks.items()} == {
        "task_1": (), "task_2": (), "task_3": ("task_2", "task_1")}


def test_python_flow_round_trips_through_graph_json(project):
    project.write("flows/flow_py.py", """
        from flowrun import Flow, task
        flow = Flow(name="py", tags=["daily"], retries=1)
        @task
        def extract(day: str = "mon"):
            return day
        @task(timeout=5, tags=["slow"])
        def load(extract):
            return extract
    """)
    result = project.run("graph", "flows/flow_py.py", "--format", "json")
    data = json.loads(result.stdout)
    assert data["key"] == "flows/flow_py.py" and data["label"] == "py"
    assert data["cfg"] == {"fail_fast": False, "tags": ["daily"], "retries": 1}
    load = data["graph"]["tasks"]["load"]
    assert load["precursors"] == ["extract"] and load["timeout"] == 5
    assert load["task_type"] == "python"
    assert load["task_params"]["function"].endswith("flow_py:load")
    assert data["graph"]["tasks"]["extract"]["task_params"]["params"] == {"day": "mon"}
    assert data.pop("schema") == "graph/1"  # the output's name; from_dict ignores it
    assert Flow.from_dict(data).to_dict() == data


def test_precursors_order_tasks_and_root_runs_them_in_parallel(project):
    project.write("flow_par.json", json.dumps({"tasks": [
        {"key": "a", "task_type": "print", "task_params": {"msg": "a"}},
        {"key": "b", "task_type": "print", "task_params": {"msg": "b"},
         "precursors": ["ROOT"]},
        {"key": "c", "task_type": "print", "task_params": {"msg": "c"},
         "precursors": ["a", "b"]},
    ]}))
    result = project.run("graph", "flow_par.json")
    assert result.stdout.splitlines()[1:] == [
        "  a (print)", "  b (print)", "  c (print)  <- a, b"]
    assert project.run().exit_code == 0


def test_shell_task_failure_shows_exit_code_and_output(project):
    project.write("flow_sh.yaml", """
        tasks:
          - key: build
            task_type: shell
            task_params: {cmd: "echo compiling; echo broken >&2; exit 3"}
          - key: ship
            task_type: shell
            task_params: {cmd: "echo shipped"}
    """)
    result = project.run()
    assert result.exit_code == 1
    assert "command 'echo compiling; echo broken >&2; exit 3' exited with 3" in result.output
    assert "compiling" in result.captured("flow_sh.yaml::build")["stdout"]
    assert "broken" in result.captured("flow_sh.yaml::build")["error"]
    assert result.status("flow_sh.yaml::ship") == "cancelled"


def test_shell_task_takes_cwd_and_env(project):
    (project.path / "work").mkdir()
    project.write("flow_sh.yaml", """
        tasks:
          - key: where
            task_type: shell
            task_params:
              cmd: "pwd; echo $GREETING"
              cwd: work
              env: {GREETING: hello}
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    out = result.captured("flow_sh.yaml::where")["stdout"].splitlines()
    assert out[0].endswith("/work") and out[1] == "hello"


def test_python_task_type_calls_module_function(project):
    project.write("flows/helpers.py", "def add(a, b):\n    return a + b\n")
    project.write("flows/flow_calc.yml", """
        tasks:
          - key: add
            task_type: python
            task_params: {function: "helpers:add", params: {a: 2, b: 3}}
    """)
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.result("flows/flow_calc.yml::add") == 5


def test_a_plugin_adds_a_task_type(project):
    project.write("flowconf.py", """
        from flowrun import hookimpl
        def shout(word):
            print(word.upper())
        @hookimpl
        def flowrun_task_types():
            return {"shout": shout}
    """)
    project.write("flow_loud.json", json.dumps(
        {"tasks": [{"key": "hey", "task_type": "shout", "task_params": {"word": "hey"}}]}))
    result = project.run()
    assert result.exit_code == 0, result.output
    assert result.captured("flow_loud.json::hey")["stdout"] == "HEY\n"


@pytest.mark.parametrize("name, text, message", [
    ("flow_t.json", '{"tasks": [{"key": "a", "task_type": "prnt"}]}',
     "flow_t.json: task 'a': unknown task_type 'prnt' (registered: print, python, shell)"),
    ("flow_p.json", '{"tasks": [{"key": "a", "task_type": "print", "precursors": ["b"]}]}',
     "flow_p.json: task 'a': precursor 'b' is not a task of the flow"),
    ("flow_c.yaml", "tasks:\n- {key: a, task_type: print, precursors: [b]}\n"
                    "- {key: b, task_type: print, precursors: [a]}\n",
     "flow_c.yaml: dependency cycle"),
    ("flow_y.yaml", "tasks:\n  - key: a\n   task_type: print\n", "flow_y.yaml:3: bad YAML"),
    ("flow_j.json", '{"tasks": [}', "flow_j.json:1: bad JSON"),
    ("flow_f.yaml", "tasks:\n- {key: a, task_type: print, retires: 2}\n",
     "flow_f.yaml: tasks[0]: unknown field 'retires'"),
])
def test_spec_errors_are_collection_errors_naming_file_and_key(project, name, text,
                                                                message):
    project.write(name, text)
    project.write("flow_ok.yaml", "tasks:\n- {key: a, task_type: print}\n")
    result = project.run()
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert result.status("flow_ok.yaml::a") == "succeeded"


def test_spec_files_setting_chooses_the_patterns(project):
    project.write("flowrun.toml", 'spec_files = ["pipeline_*.yaml"]\n')
    project.write("pipeline_x.yaml", "tasks:\n- {key: a, task_type: print}\n")
    project.write("flow_y.yaml", "tasks:\n- {key: b, task_type: print}\n")
    result = project.run()
    assert result.exit_code == 0, result.output
    assert set(result.statuses()) == {"pipeline_x.yaml::a"}
