"""Someone else's config is not code to run (git's ``safe.directory``, CVE-2022-24765),
and a subfolder of a project with a store but no config uses that store (API section 6).

The tests run as root here: "another user" is made with ``os.chown`` to uid 65534.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowrun.testing import Project

OTHER_UID = 65534
GOOD = "from flowrun import task\n@task\ndef ok():\n    return 1\n"
PLANTED = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a planted flowrun.toml and flowconf.py, with a project below
    it that has no config of its own."""
    monkeypatch.delenv("FLOWRUN_STORE", raising=False)
    monkeypatch.delenv("FLOWRUN_SAFE_DIRECTORIES", raising=False)
    folder = tmp_path / "shared"
    (folder / "proj").mkdir(parents=True)
    (folder / "flowrun.toml").write_text('store = "planted.db"\n')
    (folder / "flowconf.py").write_text(PLANTED.format(marker=str(tmp_path / "marker")))
    (folder / "proj" / "flow_a.py").write_text(GOOD)
    return folder


def _planted_ran(shared: Path) -> bool:
    return (shared.parent / "marker").exists()


def test_config_of_a_folder_owned_by_another_user_is_ignored(shared):
    for path in (shared, shared / "flowrun.toml", shared / "flowconf.py"):
        os.chown(path, OTHER_UID, -1)
    result = Project(shared / "proj").run()
    assert result.exit_code == 0
    assert f"rootdir: {shared / 'proj'}" in result.output
    assert (f"WARNING: {shared / 'flowrun.toml'} ignored: {shared} is owned by another user "
            f"(uid {OTHER_UID})") in result.output
    assert f"FLOWRUN_SAFE_DIRECTORIES={shared}" in result.output
    assert not _planted_ran(shared) and not (shared / "planted.db").exists()


def test_config_of_a_folder_others_can_write_is_ignored(shared):
    shared.chmod(0o777)
    result = Project(shared / "proj").run()
    assert result.exit_code == 0
    assert f"{shared} is writable by others" in result.output
    assert not _planted_ran(shared)


def test_a_group_writable_folder_of_yours_is_trusted(shared):
    shared.chmod(0o775)  # a team's checkout under umask 002: the group is the owner's choice
    result = Project(shared / "proj").run()
    assert result.exit_code == 0
    assert f"rootdir: {shared}, configfile: flowrun.toml" in result.output
    assert _planted_ran(shared)


def test_a_sticky_shared_folder_of_yours_is_trusted(shared):
    shared.chmod(0o1777)  # as /tmp, but yours
    result = Project(shared / "proj").run()
    assert result.exit_code == 0
    assert f"rootdir: {shared}, configfile: flowrun.toml" in result.output
    assert _planted_ran(shared)


def test_a_file_another_user_planted_in_a_sticky_folder_is_refused(shared):
    shared.chmod(0o1777)  # /tmp's case: the folder passes, the files are not yours
    os.chown(shared / "flowrun.toml", OTHER_UID, -1)
    result = Project(shared / "proj").run()
    assert result.exit_code == 0
    assert f"{shared / 'flowrun.toml'} is owned by another user" in result.output
    assert not _planted_ran(shared)


@pytest.mark.parametrize("trusted", ["{shared}", "*", "/nowhere{sep}{shared}",
                                     "{parent}/*"])
def test_safe_directories_trusts_a_folder(shared, trusted):
    os.chown(shared, OTHER_UID, -1)
    value = trusted.format(shared=shared, sep=os.pathsep, parent=shared.parent)
    result = Project(shared / "proj").run(env={"FLOWRUN_SAFE_DIRECTORIES": value})
    assert result.exit_code == 0
    assert f"rootdir: {shared}, configfile: flowrun.toml" in result.output
    assert _planted_ran(shared)


def test_a_flowconf_in_an_untrusted_current_folder_is_not_loaded(shared):
    proj = shared / "proj"
    (proj / "flowconf.py").write_text((shared / "flowconf.py").read_text())
    os.chown(shared, OTHER_UID, -1)
    proj.chmod(0o777)  # no config anywhere: the rootdir is the current folder
    result = Project(proj).run()
    assert result.exit_code == 0
    assert f"WARNING: {proj / 'flowconf.py'} ignored: {proj} is writable by others" \
        in result.output
    assert not _planted_ran(shared)


def test_an_untrusted_folder_is_skipped_and_the_search_goes_on(shared, tmp_path):
    (tmp_path / "flowrun.toml").write_text("")
    os.chown(shared, OTHER_UID, -1)
    result = Project(shared / "proj").run()
    assert result.exit_code == 0
    assert f"rootdir: {tmp_path}, configfile: flowrun.toml" in result.output


# -- a store without a config ------------------------------------------------------------

def _storeless_project(path: Path) -> Project:
    (path / "sub").mkdir(parents=True)
    (path / "flow_a.py").write_text(GOOD)
    return Project(path)


def test_a_subfolder_of_a_project_with_a_store_uses_that_store(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWRUN_STORE", raising=False)
    top = _storeless_project(tmp_path / "top")
    first = top.run()
    assert first.exit_code == 0
    history = Project(top.path / "sub").run("history")
    assert history.exit_code == 0
    assert first.runs()[0]["id"] in history.output
    again = Project(top.path / "sub").run(str(top.path / "flow_a.py"))
    assert f"rootdir: {top.path}, found by its .flowrun/ store" in again.output
    assert not (top.path / "sub" / ".flowrun").exists()


def test_a_config_further_up_wins_over_a_nearer_store(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWRUN_STORE", raising=False)
    (tmp_path / "flowrun.toml").write_text("")
    top = _storeless_project(tmp_path / "top")
    top.run(env={"FLOWRUN_STORE": str(tmp_path / "top" / ".flowrun" / "flowrun.db")})
    result = Project(top.path / "sub").run("--collect-only")
    assert f"rootdir: {tmp_path}, configfile: flowrun.toml" in result.output


def test_a_store_in_a_folder_others_can_write_is_not_adopted(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWRUN_STORE", raising=False)
    top = _storeless_project(tmp_path / "top")
    assert top.run().exit_code == 0
    top.path.chmod(0o1777)  # a shared folder such as /tmp: its store is a leftover
    result = Project(top.path / "sub").run("--collect-only")
    assert f"rootdir: {top.path / 'sub'}" in result.output
