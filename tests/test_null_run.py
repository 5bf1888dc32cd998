"""The null run's quick way (``flowrun.fingerprint.quick_key``): a cached node whose
declared files all keep the stat signature they were hashed with is settled by
comparing one recorded string, without reading or making its fingerprint. These tests
age every file past the racy window first, so the quick way is taken, and check that
each kind of change still makes the node run."""
from __future__ import annotations

import os
import sqlite3
import time

from flowrun.storage.sqlite import SqliteStorage

FLOW = """
    from pathlib import Path
    from flowrun import task

    @task(each={"i": [0, 1, 2]}, reads=["data/in_{i}.txt"], writes=["out/out_{i}.txt"],
          cache=True, cache_version="v1")
    def copy(i):
        Path("out").mkdir(exist_ok=True)
        text = Path(f"data/in_{i}.txt").read_text()
        Path(f"out/out_{i}.txt").write_text(text.upper())
        return len(text)
"""
T = "flows/flow_n.py::copy"


def age(project) -> None:
    """Every data and output file a minute old: out of the racy window, so its stat
    signature alone vouches for its hash once it is hashed again."""
    old = time.time() - 60
    for folder in ("data", "out"):
        for name in os.listdir(project.path / folder):
            os.utime(project.path / folder / name, (old, old))


def settled(project) -> dict[int, str]:
    """Run twice: the first run hashes what ``age`` touched, the second may take the
    quick way. The second run's status of each instance."""
    age(project)
    project.run()
    result = project.run("-v")
    assert result.exit_code == 0, result.output + result.stderr
    return {i: result.statuses()[f"{T}[{i}]"] for i in range(3)}


def start(project) -> None:
    project.write("flows/flow_n.py", FLOW)
    for i in range(3):
        project.write(f"data/in_{i}.txt", f"row {i}\n")
    assert project.run().exit_code == 0


def test_a_null_run_is_all_cached_with_the_stored_results(project):
    start(project)
    assert set(settled(project).values()) == {"cached"}
    result = project.run("-v")
    assert f"{T}[1] i=1 CACHED - up to date" in result.output
    assert result.result(T) == [6, 6, 6]


def test_same_size_edit_with_the_old_mtime_still_reruns(project):
    start(project)
    settled(project)
    path = project.path / "data/in_1.txt"
    mtime = path.stat().st_mtime_ns
    path.write_text("ROW 1\n")  # same size; mtime put back: only the ctime tells
    os.utime(path, ns=(mtime, mtime))
    found = project.run().statuses()
    assert found[f"{T}[1]"] == "succeeded"
    assert found[f"{T}[0]"] == found[f"{T}[2]"] == "cached"
    assert (project.path / "out/out_1.txt").read_text() == "ROW 1\n"


def test_a_deleted_or_tampered_output_reruns_its_instance(project):
    start(project)
    settled(project)
    (project.path / "out/out_0.txt").unlink()
    project.write("out/out_2.txt", "tampered")
    found = project.run().statuses()
    assert (found[f"{T}[0]"], found[f"{T}[1]"], found[f"{T}[2]"]) == \
        ("succeeded", "cached", "succeeded")


def test_code_version_and_items_changes_rerun(project):
    start(project)
    settled(project)
    project.write("flows/flow_n.py", FLOW.replace('cache_version="v1"', 'cache_version="v2"'))
    assert set(settled(project).values()) == {"cached"}  # v2 recorded by the first run
    lower = FLOW.replace("text.upper()", "text.lower()")
    project.write("flows/flow_n.py", lower)
    found = project.run().statuses()
    assert {found[f"{T}[{i}]"] for i in range(3)} == {"succeeded"}
    project.write("flows/flow_n.py", lower.replace("[0, 1, 2]", "[0, 2, 1]"))
    found = project.run().statuses()
    assert found[f"{T}[0]"] == "cached"  # same item, same files
    assert found[f"{T}[1]"] == found[f"{T}[2]"] == "succeeded"  # items swapped


def test_a_deleted_stat_cache_only_costs_a_rehash(project):
    start(project)
    settled(project)
    (project.path / ".flowrun/filehashes.db").unlink()
    assert set(settled(project).values()) == {"cached"}


def test_the_quick_way_never_reads_a_fingerprint(project):
    """Every success gets its quick key once its files are out of the racy window; a
    null run then settles on it alone (a fingerprint made unreadable changes nothing),
    and an edited input still goes the long way, which reruns it (its fingerprint
    unreadable: recomputed)."""
    start(project)
    settled(project)
    assert len(quick_keys(project)) == 3
    with sqlite3.connect(project.path / ".flowrun/flowrun.db") as conn:
        conn.execute("UPDATE fingerprints SET fingerprint = 'unreadable'")  # the file format
    statuses = project.run().statuses()
    assert {statuses[f"{T}[{i}]"] for i in range(3)} == {"cached"}
    project.write("data/in_0.txt", "row zero\n")
    found = project.run().statuses()
    assert (found[f"{T}[0]"], found[f"{T}[1]"]) == ("succeeded", "cached")


def test_a_success_just_written_is_judged_the_long_way_then_gets_its_key(project):
    """Outputs written a moment ago are racily clean: no quick key is recorded for
    them, so the next run judges the long way and records one (files aged first)."""
    start(project)
    assert quick_keys(project) == {}
    settled(project)
    assert sorted(quick_keys(project)) == [f"{T}[{i}]" for i in range(3)]


def quick_keys(project) -> dict[str, tuple]:
    """The quick keys the project's store keeps, by task id."""
    store = SqliteStorage(str(project.path / ".flowrun/flowrun.db"))
    try:
        return store.quick_fingerprints("flows/flow_n.py", "")
    finally:
        store.close()


def test_instances_settled_together_are_resumed_by_their_arguments(project):
    """A null run settles a mapped task's unchanged instances in one pass; each still
    records the hash of its arguments, so ``--resume`` of that run takes them back
    while the instance that failed runs again."""
    project.write("flows/flow_n.py", FLOW.replace(
        "text = Path", "text = Path(f\"data/in_{i}.txt\").read_text()\n"
        "        assert 'bad' not in text, 'bad row'\n        text = Path"))
    for i in range(3):
        project.write(f"data/in_{i}.txt", f"row {i}\n")
    assert project.run().exit_code == 0
    age(project)
    project.run()
    project.write("data/in_2.txt", "bad row\n")
    failed = project.run("-v")
    assert failed.exit_code == 1
    assert [failed.statuses()[f"{T}[{i}]"] for i in range(3)] == \
        ["cached", "cached", "failed"]
    project.write("data/in_2.txt", "row two\n")
    run_id = failed.new_runs()[0]["id"]
    resumed = project.run("-v", "--resume")
    assert resumed.exit_code == 0, resumed.output
    for i in range(2):
        assert f"{T}[{i}] i={i} CACHED - resumed from run {run_id}" in resumed.output
    assert resumed.statuses()[f"{T}[2]"] == "succeeded"


def test_a_big_result_kept_in_a_file_comes_back_the_quick_way(project):
    project.write("flows/flow_n.py", """
        from pathlib import Path
        from flowrun import task

        @task(each={"i": [0, 1]}, reads=["data/in_{i}.txt"], cache=True)
        def big(i):
            return Path(f"data/in_{i}.txt").read_text() * 20_000

        @task
        def sizes(big):
            return [len(b) for b in big]
    """)
    for i in range(2):
        project.write(f"data/in_{i}.txt", f"row {i}\n")
    assert project.run().exit_code == 0
    old = time.time() - 60
    for i in range(2):
        os.utime(project.path / f"data/in_{i}.txt", (old, old))
    project.run()
    assert len(quick_keys(project)) == 2
    result = project.run("-v")
    assert result.statuses()["flows/flow_n.py::big[1]"] == "cached"
    assert result.result("flows/flow_n.py::sizes") == [120_000, 120_000]
