"""The parts a cached task's fingerprint is made of: code followed through the project's
helpers (flowrun.codeprint) and file contents behind a stat cache (flowrun.filehash).

Each case writes real modules into a temp project, imports them fresh, edits a file and
imports again, as two runs of flowrun would."""
from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
from pathlib import Path

import pytest

from flowrun.codeprint import code_parts
from flowrun.filehash import FileHasher, TemplateError, expand, hash_file

def load(root: Path, files: dict[str, str], entry: str = "flow_a", name: str = "main"):
    """Write ``files`` under ``root``, import them (again: a second call is the next
    run, under the same module names) and return ``entry``'s attribute ``name``."""
    suffix = "_" + "".join(c for c in root.name if c.isalnum())
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).replace("SUFFIX", suffix))
    modules = {}
    for rel in sorted(files, key=lambda r: r != "lib.py"):  # helpers first
        mod_name = Path(rel).stem + suffix
        spec = importlib.util.spec_from_file_location(mod_name, root / rel)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
        modules[Path(rel).stem] = module
    return getattr(modules[entry], name)


def digests(root: Path, fn) -> dict[str, str | None]:
    """part name without its module name -> digest"""
    return {name.split(".", 1)[1]: p.digest for name, p in code_parts(fn, str(root)).items()}


LIB = """
    THRESHOLD = 3

    def helper(x):
        return x * THRESHOLD

    def unrelated():
        return 1
"""
FLOW = """
    import lib SUFFIX as lib
    from lib SUFFIX import helper

    def main():
        return helper(2) + lib.unrelated()
"""


def project(tmp_path: Path, lib: str = LIB, flow: str = FLOW):
    flow = flow.replace("lib SUFFIX", "libSUFFIX")
    return load(tmp_path, {"lib.py": lib, "flow_a.py": flow})


def test_helpers_and_module_values_are_parts_with_their_place(tmp_path):
    parts = code_parts(project(tmp_path), str(tmp_path))
    names = [n.split(".", 1)[1] for n in parts]
    assert names[0] == "main"
    assert {"helper", "unrelated", "THRESHOLD"} <= set(names)
    where = {n.split(".", 1)[1]: p.where for n, p in parts.items()}
    assert where["helper"] == "lib.py:4" and where["THRESHOLD"] == "lib.py"


def test_comments_blank_lines_and_moves_change_nothing(tmp_path):
    before = digests(tmp_path, project(tmp_path))
    moved = "\n\n    # a comment\n" + LIB.replace("def helper(x):", "def helper(x):  # why")
    after = digests(tmp_path, project(tmp_path, lib=moved))
    assert before == after


@pytest.mark.parametrize("edit, changed", [
    (("return x * THRESHOLD", "return x * THRESHOLD + 1"), "helper"),
    (("THRESHOLD = 3", "THRESHOLD = 4"), "THRESHOLD"),
])
def test_an_edit_to_a_helper_or_a_value_changes_exactly_that_part(tmp_path, edit, changed):
    before = digests(tmp_path, project(tmp_path))
    after = digests(tmp_path, project(tmp_path, lib=LIB.replace(*edit)))
    assert {k for k in before if before[k] != after.get(k)} == {changed}


def test_same_body_different_closures_differ(tmp_path):
    src = """
        def make(n):
            def main():
                return n
            return main
        first, second = make(1), make(2)
    """
    first = load(tmp_path, {"flow_a.py": src}, name="first")
    second = load(tmp_path, {"flow_a.py": src}, name="second")
    assert digests(tmp_path, first) != digests(tmp_path, second)


def test_classes_and_instances_of_the_project_are_followed(tmp_path):
    src = """
        class Cleaner:
            def clean(self, x):
                return x.strip()
        CLEANER = Cleaner()
        def main():
            return CLEANER.clean(" a ")
    """
    before = digests(tmp_path, load(tmp_path, {"flow_a.py": src}))
    after = digests(tmp_path, load(tmp_path, {"flow_a.py": src.replace(".strip()",
                                                                         ".lower()")}))
    assert [k for k in before if before[k] != after[k]] == ["Cleaner"]


def test_a_value_that_cannot_be_pickled_is_reported_not_skipped(tmp_path):
    src = """
        import threading
        LOCK = threading.Lock()
        def main():
            return LOCK
    """
    parts = code_parts(load(tmp_path, {"flow_a.py": src}), str(tmp_path))
    lock = next(p for n, p in parts.items() if n.endswith(".LOCK"))
    assert lock.digest is None and "cannot be fingerprinted" in lock.why


def test_library_code_is_not_followed(tmp_path):
    src = """
        import json
        def main():
            return json.dumps(1)
    """
    parts = code_parts(load(tmp_path, {"flow_a.py": src}), str(tmp_path))
    assert [n.split(".", 1)[1] for n in parts] == ["main"]


# -- files ---------------------------------------------------------------------------

def test_expand_takes_templates_globs_and_directories(tmp_path):
    for rel in ("data/2026-12-01.csv", "ref/a.txt", "ref/sub/b.txt", "logs/x.log"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    files, missing = expand(["data/{day}.csv", "ref/", "logs/*.log", "gone/{day}.csv"],
                            str(tmp_path), {"day": "2026-12-01"})
    assert files == ["data/2026-12-01.csv", "logs/x.log", "ref/a.txt", "ref/sub/b.txt"]
    assert missing == ["gone/2026-12-01.csv"]
    with pytest.raises(TemplateError, match="no parameter named 'dy'"):
        expand(["data/{dy}.csv"], str(tmp_path), {"day": "x"})


def test_an_unchanged_file_is_not_read_again_and_a_changed_one_is(tmp_path):
    data = tmp_path / "big.bin"
    data.write_bytes(os.urandom(1 << 20))
    old = os.stat(data).st_mtime_ns - 10_000_000_000
    os.utime(data, ns=(old, old))  # as a file written a while before the run
    cache = str(tmp_path / "hashes.db")
    first = FileHasher(str(tmp_path), cache)
    state = first.states(["big.bin", "missing.txt"])
    assert state["missing.txt"] is None and first.bytes_read == 1 << 20
    assert state["big.bin"].digest == hash_file(str(data))
    first.save()
    second = FileHasher(str(tmp_path), cache)
    assert second.states(["big.bin"])["big.bin"] == state["big.bin"]
    assert second.bytes_read == 0
    data.write_bytes(b"new")
    third = FileHasher(str(tmp_path), cache)
    assert third.states(["big.bin"])["big.bin"].size == 3 and third.bytes_read == 3


def test_touch_changes_nothing_but_a_reread(tmp_path):
    data = tmp_path / "a.csv"
    data.write_text("x")
    before = FileHasher(str(tmp_path), None).states(["a.csv"])["a.csv"]
    os.utime(data)
    assert FileHasher(str(tmp_path), None).states(["a.csv"])["a.csv"] == before


def test_a_file_written_just_before_it_was_hashed_is_hashed_again(tmp_path):
    data = tmp_path / "racy.txt"
    data.write_text("one")
    cache = str(tmp_path / "hashes.db")
    hasher = FileHasher(str(tmp_path), cache)
    hasher.states(["racy.txt"])
    hasher.save()
    again = FileHasher(str(tmp_path), cache)
    again.states(["racy.txt"])
    assert again.bytes_read == 3  # its mtime is within the racy window: trust nothing


# -- comparing fingerprints ------------------------------------------------------------

def test_changes_name_each_part_with_old_and_new():
    from flowrun.fingerprint import Fingerprint, changes

    old = Fingerprint(code={"flow.clean": ["aa", "flows/flow_x.py:3"],
                            "lib.helper": ["bb", "lib.py:1"]},
                      params={"day": "'2026-12-01'"}, upstream={"extract": "u1"},
                      reads={"data/a.csv": ["sha256:" + "1" * 64, 10]})
    new = Fingerprint(code={"flow.clean": ["aa", "flows/flow_x.py:3"],
                            "lib.helper": ["cc", "lib.py:1"]},
                      params={"day": "'2026-12-02'"}, upstream={"extract": "u1"},
                      reads={"data/a.csv": ["sha256:" + "2" * 64, 12]})
    lines = [c.describe() for c in changes(old, new)]
    assert lines == ["code lib.helper (lib.py:1) changed",
                     "parameter day: '2026-12-01' -> '2026-12-02'",
                     "file data/a.csv: 111111111111 (10 bytes) -> 222222222222 (12 bytes)"]
    assert changes(old, old) == []


def test_a_fingerprint_of_another_format_is_never_read():
    from flowrun.fingerprint import Fingerprint

    stored = Fingerprint(params={"a": "1"}).to_json()
    assert Fingerprint.from_json(stored) == Fingerprint(params={"a": "1"})
    assert Fingerprint.from_json(stored.replace('"format":1', '"format":0')) is None
    assert Fingerprint.from_json("not json") is None


def test_outputs_that_no_longer_hold_what_was_written_are_named():
    from flowrun.fingerprint import Fingerprint, outputs_intact

    recorded = Fingerprint(writes={"out/a": ["sha256:1", 1], "out/b": ["sha256:2", 2]})
    found = outputs_intact(recorded, {"out/a": ["sha256:1", 1], "out/b": None})
    assert [c.describe() for c in found] == ["declared output out/b missing"]
