"""Cached tasks (API section 10): a task's fingerprint now, and whether it is *up to
date* — the third way a node is reused, beside *resumed* (``flowrun.reuse``) and
*keyed* (``run_key``). The engine, ``explain`` and ``accept`` all judge through here,
so they say the same thing.

The fingerprint is made once per node, where flowrun runs (never in a worker): code
parts (``flowrun.codeprint``), parameters, partition and each item, upstream results by
hash, and the declared reads' contents (``flowrun.filehash``). A part that cannot be
fingerprinted makes the task run, saying why: never a cache hit on a partial key.
"""
from __future__ import annotations

import glob
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from flowrun.codeprint import code_parts, python_part
from flowrun.filehash import FileHasher, TemplateError, expand
from flowrun.fingerprint import (Change, Fingerprint, changes, code_key, outputs_intact,
                                 quick_head, quick_key)
from flowrun.hashing import blake2b
from flowrun.model import Report, Task

_MAGIC_IN = re.compile("[*?[]").search  # glob.has_magic's test, without its layers
#: How a reused node says why it was reused, everywhere (terminal, show, explain, UI).
UP_TO_DATE = "up to date"
_REPR_MAX = 200


def expiry_seconds(cache: Any) -> float | None:
    """``cache="12h"`` -> 43200.0; ``cache=True`` never expires (None)."""
    if isinstance(cache, str):
        from flowrun.config_keys import parse_duration  # one reading of "12h" everywhere

        return parse_duration(cache)
    return None


def result_digest(blob: bytes | None) -> str:
    """An upstream result by hash, as its downstream's fingerprint records it."""
    return blake2b(blob or b"", digest_size=16).hexdigest()


def store_of(storage: Any) -> Any:
    """The store if it keeps fingerprints (``FingerprintStore``), else None."""
    from flowrun.plugin.storage import FingerprintStore

    return storage if isinstance(storage, FingerprintStore) else None


@dataclass
class Verdict:
    """Whether a cached task is up to date, and every reason it is not."""

    fresh: bool
    reasons: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    fingerprint: Fingerprint | None = None  # None: it cannot be fingerprinted
    success: Report | None = None           # the recorded success (fresh: reused)
    recorded: tuple[str, Fingerprint] | None = None  # fresh: the record, as text and read


class _Plan(NamedTuple):
    """What a task's quick keys share, worked out once per task rather than once per
    mapped instance: its code, version and declared paths by hash (``key``), each
    declared file as (pattern, has ``{}``, a glob), reads then writes, and the expiry."""

    key: str
    files: list[tuple[str, bool, bool]]
    limit: float | None


_NO_PLAN = _Plan("", [], None)  # a task whose code cannot be fingerprinted


class Fingerprinter:
    """Makes fingerprints for one session: one file hasher (its stat cache is local to
    this host, beside the store) and each task's code parts, computed once."""

    def __init__(self, rootdir: str, hash_cache: str | None) -> None:
        self.rootdir = rootdir
        self._root_fd: int | None = None
        self.hasher = FileHasher(rootdir, hash_cache)
        self._code: dict[int, tuple[dict[str, list[Any]], str]] = {}
        self._plans: dict[Task, _Plan] = {}

    # -- the declared files ------------------------------------------------------------
    def files(self, task: Task, values: Mapping[str, Any], option: str,
              stats: dict[str, os.stat_result] | None = None
              ) -> tuple[list[str], list[str]]:
        """(files, missing) of ``reads`` or ``writes`` with ``values`` filled in; a glob
        that matches nothing is missing too. ``stats`` keeps the ``stat`` of each plain
        file for ``states``: one ``stat`` per file and fingerprint."""
        patterns = getattr(task.options, option)
        try:
            found, missing = expand(patterns, self.rootdir, values, stats)
        except TemplateError as exc:  # checked at collection; a None value still fails
            return [], [str(exc)]
        if any("*" in p or "?" in p or "[" in p for p in patterns):
            missing += [p for p in patterns if _glob_matches_nothing(p, values, found)]
        return found, missing

    def states(self, paths: list[str], stats: Mapping[str, os.stat_result] | None = None
               ) -> dict[str, list[Any] | None]:
        return {p: [s.digest, s.size] if s else None
                for p, s in self.hasher.states(paths, stats).items()}

    # -- the fingerprint ---------------------------------------------------------------
    def fingerprint(self, task: Task, values: Mapping[str, Any], upstream: dict[str, str],
                    reads: list[str], stats: Mapping[str, os.stat_result] | None = None
                    ) -> tuple[Fingerprint | None, str]:
        """The fingerprint of a node about to start, or (None, why it cannot be made)."""
        code, why = self._code_of(task)
        if why:
            return None, why
        params, why = _param_parts(values)
        if why:
            return None, why
        read_states = self.states(reads, stats)
        return Fingerprint(code=code, params=params, upstream=dict(upstream),
                           reads={p: s for p, s in read_states.items() if s},
                           version=task.options.cache_version or ""), ""

    def _code_of(self, task: Task) -> tuple[dict[str, list[Any]], str]:
        key = id(task.fn)
        if key not in self._code:
            try:
                parts = code_parts(task.fn, self.rootdir)
            except Exception as exc:  # noqa: BLE001 - a user object that resists walking
                self._code[key] = {}, f"its code cannot be fingerprinted ({exc})"
                return self._code[key]
            parts["python"] = python_part()
            bad = [p for p in parts.values() if p.digest is None]
            why = f"{bad[0].name} ({bad[0].where}) cannot be fingerprinted: {bad[0].why}" \
                if bad else ""
            self._code[key] = {n: [p.digest, p.where] for n, p in parts.items()}, why
        return self._code[key]

    # -- the quick key ---------------------------------------------------------------
    def quick_key(self, task: Task, values: Mapping[str, Any], upstream: dict[str, str],
                  signature: Callable[[str], str | None]) -> str | None:
        """The node's quick key (``flowrun.fingerprint.quick_key``) with each declared
        file's stat signature from ``signature(path)``: the signatures it was hashed
        under when recorded, ``stat_signature`` now when a null run compares. None:
        no key (a glob or directory, a missing or racily clean file, a part that cannot
        be fingerprinted); such a node is judged the long way."""
        return next(self.quick_keys(task, upstream, [values], signature))

    def quick_keys(self, task: Task, upstream: dict[str, str],
                   each_values: Iterable[Mapping[str, Any]],
                   signature: Callable[[str], str | None]) -> Iterator[str | None]:
        """``quick_key`` for each node of ``task`` in turn (``each_values``: their
        template values), with what they share worked out once."""
        plan = self._plans.get(task)
        if plan is None:
            plan = self._plans[task] = self._plan(task)
        head = quick_head(plan.key, upstream)
        files, magic_in = plan.files, _MAGIC_IN
        for values in each_values:
            params, why = _param_parts(values)
            if why or plan is _NO_PLAN:
                yield None
                continue
            signatures = []
            for pattern, templated, magic in files:
                if templated:
                    try:
                        path = pattern.format_map(values)
                    except (KeyError, IndexError, ValueError):
                        break
                    magic = magic_in(path) is not None
                else:
                    path = pattern
                found = None if magic else signature(path)
                if found is None:
                    break
                signatures.append(found)
            else:
                yield quick_key(head, params, signatures)
                continue
            yield None

    def fresh_since(self, task: Task) -> float:
        """The oldest time a success of ``task`` may have finished at and still be
        fresh: ``cache="12h"`` ago (``-inf``: it never expires)."""
        limit = self._plans[task].limit if task in self._plans else \
            expiry_seconds(task.options.cache)
        return float("-inf") if limit is None else time.time() - limit

    def _plan(self, task: Task) -> _Plan:
        code, why = self._code_of(task)
        if why:
            return _NO_PLAN
        opts = task.options
        key = code_key(code, opts.cache_version or "", opts.reads, opts.writes)
        files = [(p, "{" in p, glob.has_magic(p)) for p in (*opts.reads, *opts.writes)]
        return _Plan(key, files, expiry_seconds(opts.cache))

    def recorded_signature(self, fp: Fingerprint) -> Callable[[str], str | None]:
        """``signature`` for ``quick_key`` when recording ``fp``: the signature each
        declared file was hashed under to the digest ``fp`` records (reads first)."""
        def signature(path: str) -> str | None:
            state = fp.reads.get(path) or fp.writes.get(path)
            return self.hasher.signature(path, state[0]) if state else None
        return signature

    # -- the verdict -------------------------------------------------------------------
    def judge(self, task: Task, node_id: str, partition: str, fp: Fingerprint | None,
              why: str, store: Any, values: Mapping[str, Any], forced: bool = False
              ) -> Verdict:
        """Is the node up to date? Every reason it is not, in the order they matter."""
        if fp is None:
            return Verdict(False, [f"not cached: {why}"])
        if forced:
            return Verdict(False, ["forced"], fingerprint=fp)
        if store is None:
            return Verdict(False, ["not cached: the store keeps no fingerprints"],
                           fingerprint=fp)
        recorded = store.get_fingerprint(node_id, partition)
        if recorded is None:
            return Verdict(False, ["never succeeded"], fingerprint=fp)
        old = Fingerprint.from_json(recorded[0])
        if old is None:
            return Verdict(False, ["fingerprint recorded by another version of flowrun "
                                   "(format changed): recomputed"], fingerprint=fp)
        verdict = self._compare(task, old, fp, recorded[1], values)
        if verdict.fresh:
            verdict.recorded = recorded[0], old
        return verdict

    def _compare(self, task: Task, old: Fingerprint, fp: Fingerprint, success: Report,
                 values: Mapping[str, Any]) -> Verdict:
        found = changes(old, fp)
        files, missing = self._writes(task, values, old)
        now = self.states([*files, *(p for p in old.writes if p not in files)])
        found += outputs_intact(old, now)
        found += [Change("output", p, None, "missing") for p in missing
                  if p not in old.writes]
        reasons = [c.describe() for c in found]
        limit = expiry_seconds(task.options.cache)
        age = time.time() - (success.finished or 0)
        if limit is not None and age > limit:
            reasons.insert(0, f"expired (succeeded {_ago(age)} ago, "
                              f"cache={task.options.cache!r})")
        if reasons:
            return Verdict(False, reasons, found, fp, success)
        return Verdict(True, [UP_TO_DATE], [], fp, success)

    def _writes(self, task: Task, values: Mapping[str, Any], old: Fingerprint
                ) -> tuple[list[str], list[str]]:
        """The declared writes now: plain paths the last success wrote are taken as
        they are (their ``stat`` follows anyway); anything else is expanded."""
        patterns = task.options.writes
        if not patterns:
            return [], []
        try:
            plain = [p.format_map(values) if "{" in p else p for p in patterns]
        except (KeyError, IndexError, ValueError):
            plain = []
        if plain and all(p in old.writes for p in plain):
            return plain, []
        return self.files(task, values, "writes")

    def written(self, task: Task, fp: Fingerprint, values: Mapping[str, Any]
                ) -> tuple[Fingerprint, list[str]]:
        """After a success: the fingerprint with its writes' contents, and the declared
        writes it did not produce."""
        stats: dict[str, os.stat_result] = {}
        files, missing = self.files(task, values, "writes", stats)
        states = self.states(files, stats)
        return Fingerprint(code=fp.code, params=fp.params, upstream=fp.upstream,
                           reads=fp.reads, writes={p: s for p, s in states.items() if s},
                           version=fp.version), missing

    def root_fd(self) -> int | None:
        """The rootdir, opened once to ``stat`` declared paths relative to it."""
        if self._root_fd is None:
            try:
                self._root_fd = os.open(self.rootdir, os.O_RDONLY | os.O_DIRECTORY
                                        | os.O_CLOEXEC)
            except OSError:
                return None  # then each stat resolves it: slower, the same answer
        return self._root_fd

    def save(self) -> None:
        """Keep what the hasher learnt; let go of the rootdir."""
        self.hasher.save()
        if self._root_fd is not None:
            os.close(self._root_fd)
            self._root_fd = None


def template_values(task: Task, run_params: Mapping[str, Any], extra: Mapping[str, Any],
                    partition: str | None) -> dict[str, Any]:
    """What a node's ``{name}`` templates and parameter part see: the flow parameters
    it takes, its each item and the partition."""
    return dict(instance_values(task, run_params, partition)(extra))


def instance_values(task: Task, run_params: Mapping[str, Any], partition: str | None
                    ) -> Callable[[Mapping[str, Any]], Mapping[str, Any]]:
    """``template_values`` of each instance of a mapped task, given its own values
    (read only): what they share is worked out once (usually nothing: the item alone)."""
    taken = {p: run_params.get(p, d) for p, d in task.params.items()}
    last = {"partition": partition} if partition is not None else {}
    if not taken and not last:
        return lambda extra: extra
    return lambda extra: {**taken, **extra, **last}


def _param_parts(values: Mapping[str, Any]) -> tuple[dict[str, str], str]:
    """The parameter part: each value's repr (hashed when long), or why it cannot be."""
    params: dict[str, str] = {}
    for name, value in sorted(values.items()):
        text = repr(value)
        if " at 0x" in text:
            return {}, f"parameter {name} ({type(value).__name__}) cannot be " \
                       "fingerprinted: its repr names an address"
        params[name] = text if len(text) <= _REPR_MAX else \
            "blake2b:" + blake2b(text.encode(), digest_size=16).hexdigest()
    return params, ""


def hash_cache_path(config: Any) -> str | None:
    """The per-host stat cache, beside a SQLite store under the rootdir's ``.flowrun``
    (another store's files are no business of ours: the cache is local anyway)."""
    folder = os.path.join(config.rootdir, ".flowrun")
    return os.path.join(folder, "filehashes.db") if os.path.isdir(folder) else None


def _glob_matches_nothing(pattern: str, values: Mapping[str, Any], found: list[str]
                          ) -> bool:
    from fnmatch import fnmatchcase

    try:
        path = pattern.format_map(dict(values))
    except (KeyError, IndexError, ValueError):
        return False
    if not glob.has_magic(path):
        return False
    return not any(fnmatchcase(f, path) or fnmatchcase(f, path.rstrip("/") + "/*")
                   for f in found)


def _ago(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
