"""Installed plugins of the ``flowrun`` entry-point group, found without
``importlib.metadata``: importing it (email, zipfile, pathlib...) and reading every
distribution's metadata cost more than the rest of a small run's start-up. Here each
``*.dist-info`` / ``*.egg-info`` folder on ``sys.path`` is looked at once, in the order
``importlib.metadata.distributions()`` gives, and only a distribution that declares the
group has its name read. A zip file on ``sys.path`` hands the search to
``importlib.metadata`` (which reads inside archives).
"""
from __future__ import annotations

import os
import sys
from typing import Any, Iterator, NamedTuple

INFO_SUFFIXES = (".dist-info", ".egg-info")


class EntryPoint(NamedTuple):
    """One ``name = module:attr`` line of a distribution's ``entry_points.txt`` (a named
    tuple: cheaper to make at every start than a frozen dataclass)."""

    name: str
    value: str
    dist: str  # the project's name, as ``flowrun --executors`` shows where it comes from

    def load(self) -> Any:
        import importlib

        module, _, attrs = self.value.split("[", 1)[0].partition(":")  # extras dropped
        target: Any = importlib.import_module(module.strip())
        for attr in filter(None, attrs.strip().split(".")):
            target = getattr(target, attr)
        return target


def entry_points(group: str) -> list[EntryPoint]:
    """Every entry point of ``group``, in ``importlib.metadata`` order (duplicates kept:
    the first of a name wins, as with pluggy)."""
    if any(os.path.isfile(entry) for entry in sys.path if entry):
        return _from_metadata(group)
    found: list[EntryPoint] = []
    marker = f"[{group}]".encode()
    for folder in _info_folders():
        data = _read_bytes(os.path.join(folder, "entry_points.txt"))
        text = _decoded(data) if data is not None and marker in data else None
        if text is not None:
            dist = _dist_name(folder)
            found += [EntryPoint(name, value, dist) for name, value in _section(text, group)]
    return found


def _info_folders() -> Iterator[str]:
    for entry in sys.path:
        directory = entry or "."
        try:
            names = os.listdir(directory)
        except OSError:  # missing or unreadable: importlib.metadata skips it too
            continue
        for name in names:
            if name.endswith(INFO_SUFFIXES):
                yield os.path.join(directory, name)


def _read(path: str) -> str | None:
    data = _read_bytes(path)
    return None if data is None else _decoded(data)


def _read_bytes(path: str) -> bytes | None:
    """The file's bytes with plain ``os`` calls: a text ``open()`` of each of a big
    environment's dozens of ``entry_points.txt`` costs more than the search."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _decoded(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _section(text: str, group: str) -> Iterator[tuple[str, str]]:
    """``(name, value)`` pairs of the ``[group]`` section of an ini-style text."""
    inside = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            inside = line[1:-1].strip() == group
        elif inside and "=" in line:
            name, _, value = line.partition("=")
            yield name.strip(), value.strip()


def _dist_name(folder: str) -> str:
    """The ``Name:`` of the distribution's metadata, else the folder's name."""
    for meta in ("METADATA", "PKG-INFO"):
        text = _read(os.path.join(folder, meta))
        for line in (text or "").splitlines():
            if line.lower().startswith("name:"):
                return line.split(":", 1)[1].strip()
            if not line:
                break  # the headers are over
    return os.path.basename(folder).split("-")[0]


def _from_metadata(group: str) -> list[EntryPoint]:
    import importlib.metadata

    return [EntryPoint(ep.name, ep.value, dist.metadata["name"])
            for dist in importlib.metadata.distributions()
            for ep in dist.entry_points if ep.group == group]
