"""Content hashes of the files cached tasks declare (``reads``/``writes``), with a stat
cache so an unchanged file is never read twice.

A file's hash is of its content (sha256, through OpenSSL: faster than ``sha256sum``
here), recorded with the hash's name. A file whose stat signature (size, mtime_ns,
inode, ctime_ns) is the one it had when last hashed is not read again; the cache lives
beside the store (``.flowrun/filehashes.db``, one per host: inodes are local). As git
does for "racily clean" files, a file modified just before it was hashed (within 100 ms,
or 2 s on a file system that keeps whole seconds) is hashed again next time, since a
second write in the same clock tick could keep its signature. Files that need hashing
are hashed on a few threads (hashlib lets go of the GIL), so a directory of many changed
files uses every core.
"""
from __future__ import annotations

import glob
import os
import sqlite3
import stat
import time
from typing import Any, Iterable, Mapping, NamedTuple

HASH_NAME = "sha256"
_RACY_NS = 100_000_000            # the coarsest clock tick of a file system with ns times
_RACY_WHOLE_SECONDS_NS = 2_000_000_000
_PARALLEL_BYTES = 8 << 20  # below this, threads cost more than they save
#: Paths looked up one by one in the stat cache before the whole of it is read: a null
#: run asks only for the few files whose quick key failed, a first run for every file.
_ONE_BY_ONE = 64


class FileState(NamedTuple):
    """A file's content as hashed: ``digest`` is ``"sha256:<hex>"`` (a tuple: a null
    run makes two of these per cached task)."""

    path: str  # relative to the rootdir, with "/" separators
    size: int
    digest: str


class TemplateError(ValueError):
    """A ``{name}`` in a declared path names no parameter of the task."""


def expand(patterns: Iterable[str], rootdir: str, values: Mapping[str, object],
           stats: dict[str, os.stat_result] | None = None) -> tuple[list[str], list[str]]:
    """(files, missing): the files the declared ``patterns`` stand for, relative to
    ``rootdir`` and sorted; ``missing`` lists plain paths that do not exist. A glob
    matching nothing stands for no file; a directory for every file under it. A plain
    file costs one ``stat``, kept in ``stats`` (when given) for ``FileHasher.states``."""
    files: set[str] = set()
    missing = []
    for pattern in patterns:
        try:
            path = pattern.format_map(values) if "{" in pattern else pattern
        except KeyError as exc:
            raise TemplateError(f"{pattern!r}: no parameter named {exc}") from None
        except (IndexError, ValueError) as exc:
            raise TemplateError(f"{pattern!r}: {exc}") from None
        full = os.path.join(rootdir, path)
        if glob.has_magic(path):
            for match in glob.glob(full, recursive=True):
                files.update(_files_under(match, rootdir))
            continue
        try:
            st = os.stat(full)
        except OSError:
            missing.append(path)
            continue
        if stat.S_ISDIR(st.st_mode):
            files.update(_files_under(full, rootdir))
            continue
        rel = os.path.normpath(path).replace(os.sep, "/")
        files.add(rel)
        if stats is not None:
            stats[rel] = st
    return sorted(files), missing


def _files_under(path: str, rootdir: str) -> Iterable[str]:
    if os.path.isdir(path):
        for top, dirs, names in os.walk(path):
            dirs.sort()
            for name in names:
                yield _rel(os.path.join(top, name), rootdir)
    else:
        yield _rel(path, rootdir)


def _rel(path: str, rootdir: str) -> str:
    return os.path.relpath(path, rootdir).replace(os.sep, "/")


def hash_file(path: str) -> str:
    """The content hash of one file, read in large blocks."""
    import hashlib  # OpenSSL's: a null run hashes nothing and never loads it

    with open(path, "rb") as fh:
        return f"{HASH_NAME}:{hashlib.file_digest(fh, HASH_NAME).hexdigest()}"


class FileHasher:
    """Hashes files under ``rootdir``, remembering stat signatures in ``cache_path``."""

    def __init__(self, rootdir: str, cache_path: str | None) -> None:
        self.rootdir = rootdir
        self._root = os.path.join(rootdir, "")
        self.cache_path = cache_path
        self._known: dict[str, tuple[int, int, int, int, int, str]] | None = None
        self._fresh: dict[str, tuple[int, int, int, int, int, str]] = {}
        self._asked = 0  # paths looked up one by one so far
        self._conn: sqlite3.Connection | None = None  # for those lookups
        self.bytes_read = 0

    def states(self, paths: Iterable[str], stats: Mapping[str, os.stat_result] | None = None
               ) -> dict[str, FileState | None]:
        """path -> its state, or None where the file does not exist (``stats``: paths
        ``expand`` has just taken a ``stat`` of)."""
        paths = list(paths)
        known, fresh = self._known_entries(paths), self._fresh
        found: dict[str, FileState | None] = {}
        stats = stats or {}
        todo: list[tuple[str, os.stat_result]] = []
        root = self._root
        for path in paths:
            st = stats.get(path)
            if st is None:
                try:
                    st = os.stat(path if path.startswith("/") else root + path)
                except OSError:
                    found[path] = None
                    continue
            entry = fresh.get(path) or known.get(path)
            if entry is not None and entry[1] == st.st_mtime_ns and entry[0] == st.st_size \
                    and entry[2] == st.st_ino and entry[3] == st.st_ctime_ns \
                    and not _racy(st.st_mtime_ns, entry[4]):
                found[path] = FileState(path, st.st_size, entry[5])
            else:
                todo.append((path, st))
        for path, st, digest in self._hash_all(todo):
            found[path] = FileState(path, st.st_size, digest)
            self._fresh[path] = (*_signature(st), time.time_ns(), digest)
        return found

    def signature(self, path: str, digest: str) -> str | None:
        """The stat signature (``stat_signature``'s text) ``path`` had when it was
        hashed to ``digest``; None if it was not, or was racily clean then."""
        entry = self._fresh.get(path) or self._known_entries([path]).get(path)
        if entry is None or entry[5] != digest or _racy(entry[1], entry[4]):
            return None
        return f"{entry[0]}.{entry[1]}.{entry[2]}.{entry[3]}"

    def _hash_all(self, todo: list[tuple[str, os.stat_result]]
                  ) -> Iterable[tuple[str, os.stat_result, str]]:
        if not todo:
            return []
        total = sum(st.st_size for _, st in todo)
        self.bytes_read += total
        paths = [os.path.join(self.rootdir, p) for p, _ in todo]
        if len(todo) > 1 and total > _PARALLEL_BYTES:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
                digests = list(pool.map(hash_file, paths))
        else:
            digests = [hash_file(p) for p in paths]
        return [(p, st, d) for (p, st), d in zip(todo, digests)]

    def _known_entries(self, paths: list[str]) -> dict[str, tuple]:
        """The cache's entries for ``paths``: looked up one by one while few are asked,
        the whole cache read at once after that."""
        if self._known is not None or self._asked + len(paths) > _ONE_BY_ONE:
            return self._load()
        self._asked += len(paths)
        if not paths or not self.cache_path or not os.path.exists(self.cache_path):
            return {}
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self.cache_path)
            return {row[0]: row[1:] for row in self._conn.execute(
                "SELECT path, size, mtime_ns, inode, ctime_ns, hashed_ns, digest FROM files"
                f" WHERE path IN ({', '.join('?' * len(paths))})", paths)}
        except sqlite3.DatabaseError:
            return {}

    def _load(self) -> dict[str, tuple[int, int, int, int, int, str]]:
        if self._known is None:
            self._known = {}
            if self.cache_path and os.path.exists(self.cache_path):
                try:
                    with sqlite3.connect(self.cache_path) as conn:
                        self._known = {row[0]: row[1:] for row in conn.execute(
                            "SELECT path, size, mtime_ns, inode, ctime_ns, hashed_ns, digest"
                            " FROM files")}
                except sqlite3.DatabaseError:
                    self._known = {}  # a damaged cache only costs a re-hash
        return self._known

    def save(self) -> None:
        """Keep what this hasher learnt; a cache that cannot be written is only slower."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if not self._fresh or not self.cache_path:
            return
        try:
            fd = os.open(self.cache_path, os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
            with sqlite3.connect(self.cache_path) as conn:
                conn.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY,"
                             " size INT, mtime_ns INT, inode INT, ctime_ns INT,"
                             " hashed_ns INT, digest TEXT)")
                conn.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?)",
                                 [(p, *entry) for p, entry in self._fresh.items()])
        except (OSError, sqlite3.DatabaseError):
            return
        if self._known is not None:
            self._known.update(self._fresh)
        self._fresh.clear()


def _racy(mtime_ns: int, hashed_ns: int) -> bool:
    """Could a write in the same clock tick as the last one have kept the signature?"""
    window = _RACY_WHOLE_SECONDS_NS if mtime_ns % 1_000_000_000 == 0 else _RACY_NS
    return mtime_ns >= hashed_ns - window


def stat_signature(path: str, dir_fd: int | None = None) -> str | None:
    """A file's stat signature now, as text: size, mtime_ns, inode, ctime_ns (None: it
    cannot be stat'ed). Equal to ``FileHasher.signature``'s: the file still holds what
    was hashed. ``dir_fd``: the folder a relative ``path`` is in, opened (a ``stat``
    relative to it skips resolving that folder's own path: a third of its cost)."""
    try:
        st = os.stat(path, dir_fd=dir_fd)
    except OSError:
        return None
    return f"{st.st_size}.{st.st_mtime_ns}.{st.st_ino}.{st.st_ctime_ns}"


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
