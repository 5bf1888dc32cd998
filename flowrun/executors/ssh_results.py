"""Large results on SSH hosts: a result over ``result_file_threshold`` stays in a cache
on the host that made it (one folder per session, removed at its end), is fetched once
into the store's result files (the store's guarantee: a task succeeds only once its
result is durable), and a downstream task on the same host reads it from that cache.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import threading
from typing import Any

from flowrun.plugin import ResultFile, blake2b

CHUNK = 1 << 20


class HostResult(ResultFile):
    """A result in the store's result files (``results_dir``) that also stays in
    ``host``'s cache (``cache_dir``): tasks on that host read it there, every other
    reader takes the store's copy."""

    __slots__ = ("host", "cache_dir")

    def __init__(self, results_dir: str, ref: str, fmt: str | None, host: str,
                 cache_dir: str) -> None:
        super().__init__(results_dir, ref, fmt)
        self.host, self.cache_dir = host, cache_dir

    def __getstate__(self) -> tuple:
        return self.results_dir, self.ref, self.fmt, self.host, self.cache_dir

    def __setstate__(self, state: tuple) -> None:
        self.results_dir, self.ref, self.fmt, self.host, self.cache_dir = state

    def for_host(self, host: str) -> Any:
        """What a task on ``host`` gets: the cached file there, else the value."""
        if host == self.host:
            return ResultFile(self.cache_dir, self.ref, self.fmt)
        return self.load()


def cache_dir(session: str) -> str:
    """The session's cache folder on every host (``/tmp`` is there on every POSIX
    host; a private folder, made by the worker)."""
    return f"/tmp/flowrun-results-{session}"


def fetch(ssh_argv: list[str], remote_dir: str, results_dir: str, ref: str) -> str | None:
    """Copy ``remote_dir/ref`` into ``results_dir/ref`` through ``ssh_argv``: streamed,
    checked against its name (the content's hash), synced, then renamed into place.
    Returns what went wrong, or None."""
    target = os.path.join(results_dir, ref)
    if os.path.exists(target):  # content-addressed: the store has these bytes
        return None
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    temp = f"{target}.{os.getpid()}.{threading.get_ident()}.tmp"
    command = f"cat {shlex.quote(f'{remote_dir}/{ref}')}"
    try:
        digest, code, err = _copy([*ssh_argv, command], temp)
        if code != 0:
            return f"cat exited with {code}: {err or 'no output'}"
        if digest != ref.replace("/", ""):
            return "the copy does not match its hash"
        os.replace(temp, target)
        return None
    except OSError as exc:  # a full disk, say
        return f"{exc.strerror or exc}"
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _copy(argv: list[str], path: str) -> tuple[str, int, str]:
    """Run ``argv`` writing its output to ``path``; (blake2b hex, exit code, stderr)."""
    digest = blake2b(digest_size=20)
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc, open(path, "wb") as out:
        for chunk in iter(lambda: proc.stdout.read(CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
        err = proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
    return digest.hexdigest(), proc.returncode, err[-1] if err else ""


def remove_cache(ssh_argv: list[str], remote_dir: str) -> None:
    """The session's cache on a host, gone at the session's end."""
    try:
        subprocess.run([*ssh_argv, f"rm -rf {shlex.quote(remote_dir)}"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pass
