"""``flowrun accept`` and ``flowrun forget`` end to end (API section 10): accepting a
cosmetic edit keeps a task cached and is refused, exit 1, when the task never succeeded
or its outputs are not intact; forgetting drops fingerprints of tasks or of a data file."""
from __future__ import annotations

from test_cached_tasks import A, B, PIPE, pipeline, statuses  # the cached pipeline

RENAMED = PIPE.replace("text = Path", "content = Path").replace(
    "write_text(text.upper())", "write_text(content.upper())").replace(
    "return len(text)", "return len(content)")


def test_accept_keeps_a_task_cached_after_a_cosmetic_edit(project):
    pipeline(project)
    project.write("flows/flow_d.py", RENAMED)
    result = project.run("accept", A)
    assert result.exit_code == 0, result.output + result.stderr
    assert f"accepted {A}: code " in result.output
    assert statuses(project.run())["a"] == "cached"


def test_accept_refuses_a_task_that_never_succeeded(project):
    project.write("flows/flow_d.py", PIPE)
    result = project.run("accept", A)
    assert result.exit_code == 1
    assert f"cannot accept {A}: it never succeeded" in result.stderr


def test_accept_refuses_when_outputs_are_not_intact(project):
    pipeline(project)
    project.write("out/a.txt", "edited by hand")
    result = project.run("accept", A)
    assert result.exit_code == 1
    assert "its outputs are not intact (declared output out/a.txt changed)" in result.stderr


def test_forget_drops_fingerprints_of_tasks_or_of_a_data_file(project):
    pipeline(project)
    result = project.run("forget", B)
    assert result.exit_code == 0 and "forgot 1 fingerprint of 1 task" in result.output
    assert statuses(project.run()) == {"a": "cached", "b": "succeeded", "c": "cached"}
    assert "forgot 2 fingerprints" in project.run("forget", "out/a.txt").output  # a, c
    assert "forgot 1 fingerprint of 1 task" in project.run("forget", "-k", "b").output
    assert "forgot 0 fingerprints of 3 tasks" in project.run("forget").output
    assert set(statuses(project.run()).values()) == {"succeeded"}


def test_forget_and_accept_take_a_store_and_tags(project):
    pipeline(project, flow=PIPE.replace("@task(cache=True)", "@task(cache=True, tags=['t'])"))
    store = f"sqlite:///{project.path / '.flowrun' / 'flowrun.db'}"
    assert "forgot 1 fingerprint of 1 task" in \
        project.run("forget", "-m", "t", "--store", store).output
    assert "already up to date" in project.run("accept", A, "--store", store).output
    assert project.run("forget", "--store", "memory:").output.startswith("forgot 0")
