"""blake2b, the one hash flowrun uses (source and argument hashes, result file names),
without loading OpenSSL: ``import hashlib`` loads ``_hashlib`` for algorithms flowrun
never asks for, ~3-4 ms of every start. The digests are the same."""
from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # an interpreter built without CPython's own blake2
    from hashlib import blake2b

__all__ = ["blake2b"]
