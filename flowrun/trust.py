"""Whose files flowrun may run: someone else's config is not code to run.

A ``flowrun.toml`` or ``flowconf.py`` is code flowrun acts on (``flowconf.py`` is
imported; a config names plugins to import and a store to write). One planted by
another user in a directory above the project (a shared ``/tmp``, say) would be adopted
as the rootdir and run, as git once ran a planted ``.git/config`` (CVE-2022-24765). So a
directory owned by another user, or writable by others (any user: the mode's "other"
write bit), is never adopted as the rootdir, and no config or ``flowconf.py`` is read from it, nor any such file owned by
another user. ``FLOWRUN_SAFE_DIRECTORIES`` (paths separated by ``os.pathsep``, a
trailing ``/*`` for every folder under one, or ``*`` for all) trusts them anyway.
"""
from __future__ import annotations

import os
import stat
import sys

SAFE_DIRECTORIES = "FLOWRUN_SAFE_DIRECTORIES"


def distrust(directory: str, *files: str) -> str | None:
    """Why ``directory`` (and ``files`` in it) may not be trusted, or None if they may.

    A directory writable by others counts as safe only with the sticky bit set (others
    can then add files but not replace yours, as in ``/tmp``) and owned by you; the files
    themselves must be yours either way."""
    if not hasattr(os, "geteuid") or _trusted(directory):  # no owners to compare
        return None
    me = os.geteuid()
    try:
        info = os.stat(directory)
    except OSError:
        return None  # gone: nothing will be read from it
    if info.st_uid != me:
        return f"{directory} is owned by another user (uid {info.st_uid})"
    # A group is chosen by the owner (a team's shared checkout under umask 002); any
    # user at all is not.
    if info.st_mode & stat.S_IWOTH and not info.st_mode & stat.S_ISVTX:
        return f"{directory} is writable by others"
    for path in files:
        try:
            owner = os.stat(path).st_uid
        except OSError:
            continue
        if owner != me:
            return f"{path} is owned by another user (uid {owner})"
    return None


def shared(directory: str) -> bool:
    """Whether others may add files to ``directory`` (sticky or not), unless trusted."""
    try:
        return bool(os.stat(directory).st_mode & stat.S_IWOTH) and not _trusted(directory)
    except OSError:
        return False


def refusal(path: str, why: str) -> str:
    """The one line that says what was not used, why, and how to allow it."""
    folder = os.path.dirname(path)
    return (f"WARNING: {path} ignored: {why}; flowrun neither adopts a folder another "
            f"user controls as the rootdir nor runs its config or flowconf.py (to trust "
            f"it: {SAFE_DIRECTORIES}={folder})")


def warn(path: str, why: str) -> None:
    print(refusal(path, why), file=sys.stderr)


def _trusted(directory: str) -> bool:
    entries = [e for e in os.environ.get(SAFE_DIRECTORIES, "").split(os.pathsep) if e]
    real = os.path.realpath(directory)
    for entry in entries:
        if entry == "*":
            return True
        if entry.endswith("/*") and (real + os.sep).startswith(
                os.path.realpath(entry[:-2]) + os.sep):
            return True
        if os.path.realpath(entry) == real:
            return True
    return False
