"""A mapped instance's argument hash is kept in the store and compared by later runs
(``--resume``), so its bytes must not change when computing it gets faster: the plain
arguments' shortcut gives exactly the bytes of the sets-sorted copy."""
from __future__ import annotations

import pickle

import pytest

from flowrun.engine.reusing import _sets_sorted, canonical_pickle

SHARED = ("region", "eu")


class Tag(str):
    pass


@pytest.mark.parametrize("parts", [
    ["leaf", ("root", b"0123456789abcdef"), ("root", 5)],
    ["t", ("a", None), ("b", 1.5), ("c", True), ("d", "x")],
    ["t", SHARED, SHARED],  # one tuple twice: pickled once, then by reference
    ["t", (), ()],
    ["t", ("s", {"b", "a", "c"})],
    ["t", ("f", frozenset({3, 1, 2}))],
    ["t", ("l", [1, {2, 1}])],
    ["t", ("d", {"k": {1, 2}})],
    ["t", ("n", float("nan"))],
    ["t", ("tag", Tag("eu"))],
    ["t", ("nested", ("a", ("b",)))],
    ("not", "a", "list"),
    [],
])
def test_the_hashed_bytes_are_those_of_the_sets_sorted_copy(parts):
    assert canonical_pickle(parts) == pickle.dumps(_sets_sorted(parts), protocol=4)


def test_a_resumed_fan_out_still_reuses_every_instance(project):
    project.write("flows/flow_a.py", "from flowrun import task\n"
                  "@task\ndef items(): return [1, 'two', 3.0, None]\n"
                  "@task(each='items')\ndef double(items):\n"
                  "    if items is None: raise ValueError('no item')\n"
                  "    return items * 2\n")
    assert project.run("-q").exit_code == 1
    again = project.run("-q", "--resume")
    assert again.exit_code == 1
    assert again.status("flows/flow_a.py::double[0]") == "cached"
    assert again.status("flows/flow_a.py::double[3]") == "failed"
