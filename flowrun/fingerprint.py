"""A cached task's fingerprint, part by part, and what changed between two of them.

The parts (API section 10): code (``flowrun.codeprint``), parameters, upstream
results by hash, and the contents of declared reads (``flowrun.filehash``). The
outputs a success wrote are recorded beside them, so a later run can tell whether they
are still intact. Every part is kept separately so ``explain`` can say exactly what
changed; the whole is stored as JSON with a format number: a fingerprint of another
format is never compared part by part, it is "recorded by another flowrun".
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flowrun.hashing import blake2b

#: The stored format; a change makes every cached task rerun once, saying why.
FORMAT = 1
_decode = json.JSONDecoder().decode  # json.loads' checks, made once (the long way: one a task)


@dataclass(frozen=True)
class Fingerprint:
    """Each mapping is name -> digest (files: path -> [digest, size]; code: name ->
    [digest, where])."""

    code: dict[str, list[Any]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    upstream: dict[str, str] = field(default_factory=dict)
    reads: dict[str, list[Any]] = field(default_factory=dict)
    writes: dict[str, list[Any]] = field(default_factory=dict)
    version: str = ""  # cache_version=

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "code": self.code, "params": self.params,
                           "upstream": self.upstream, "reads": self.reads,
                           "writes": self.writes, "version": self.version},
                          sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Fingerprint | None:
        """None for a fingerprint of another format (or unreadable): never misread."""
        try:
            data = _decode(text)
            if data.pop("format") != FORMAT:
                return None
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


def code_key(code: dict[str, list[Any]], version: str, reads: Any, writes: Any) -> str:
    """What every quick key of a task starts from: its code part, ``cache_version``
    and declared paths (as written), by hash."""
    text = json.dumps([FORMAT, code, version, list(reads), list(writes)], sort_keys=True)
    return blake2b(text.encode(), digest_size=16).hexdigest()


def quick_head(code: str, upstream: dict[str, str]) -> str:
    """What the quick keys of one task's nodes in one run share: its code
    (``code_key``) and upstream parts."""
    return f"{code}\0{upstream!r}\0"


def quick_key(head: str, params: dict[str, str], signatures: list[str]) -> str:
    """A fingerprint's quick key: its code, upstream (``quick_head``) and parameter
    parts by hash, then each declared file's stat signature. Two nodes with equal keys
    have equal fingerprints as long as each signature is one its file was hashed under,
    which is how the key is recorded: a null run compares this one string per node
    (one ``stat`` a file) and never reads a fingerprint or a file."""
    digest = blake2b(f"{head}{params!r}".encode(), digest_size=16).hexdigest()
    return f"{digest}|{';'.join(signatures)}"


@dataclass(frozen=True)
class Change:
    """One changed part: ``kind`` is code, param, upstream, read, version or output."""

    kind: str
    name: str
    old: Any = None
    new: Any = None
    where: str = ""

    def describe(self) -> str:
        if self.kind == "read":
            return f"file {self.name}: {_file(self.old)} -> {_file(self.new)}"
        if self.kind == "output":
            return f"declared output {self.name} {self.new}"
        if self.kind == "code":
            verb = "added" if self.old is None else "removed" if self.new is None \
                else "changed"
            return f"code {self.name} ({self.where}) {verb}"
        if self.kind == "upstream":
            return f"upstream {self.name}: result changed"
        if self.kind == "param":
            return f"parameter {self.name}: {self.old} -> {self.new}"
        return f"{self.kind} {self.name}: {self.old} -> {self.new}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "old": self.old, "new": self.new,
                "where": self.where, "text": self.describe()}


def _file(state: Any) -> str:
    if not state:
        return "missing"
    digest, size = state
    return f"{digest.partition(':')[2][:12]} ({size} bytes)"


def changes(old: Fingerprint, new: Fingerprint) -> list[Change]:
    """Every part of ``new`` that differs from ``old``, in a stable order."""
    if old.code == new.code and old.params == new.params and old.reads == new.reads \
            and old.upstream == new.upstream and old.version == new.version:
        return []  # the usual case of a null run, without a walk part by part
    found = []
    if old.version != new.version:
        found.append(Change("version", "cache_version", old.version, new.version))
    for name in _keys(old.code, new.code):
        before, after = old.code.get(name), new.code.get(name)
        if (before or [None])[0] != (after or [None])[0]:
            where = (after or before)[1]
            found.append(Change("code", name, before and before[0], after and after[0],
                                where))
    for name in _keys(old.params, new.params):
        if old.params.get(name) != new.params.get(name):
            found.append(Change("param", name, old.params.get(name), new.params.get(name)))
    for name in _keys(old.upstream, new.upstream):
        if old.upstream.get(name) != new.upstream.get(name):
            found.append(Change("upstream", name, old.upstream.get(name),
                                new.upstream.get(name)))
    for path in _keys(old.reads, new.reads):
        if old.reads.get(path) != new.reads.get(path):
            found.append(Change("read", path, old.reads.get(path), new.reads.get(path)))
    return found


def outputs_intact(recorded: Fingerprint, current_writes: dict[str, list[Any] | None]
                   ) -> list[Change]:
    """The declared outputs that no longer hold what the last success wrote."""
    found = []
    for path, state in sorted(recorded.writes.items()):
        now = current_writes.get(path)
        if now is None:
            found.append(Change("output", path, state, "missing"))
        elif now != state:
            found.append(Change("output", path, state, "changed"))
    return found


def _keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return sorted(set(a) | set(b))
