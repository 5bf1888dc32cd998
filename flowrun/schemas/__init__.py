"""The JSON Schemas (draft 2020-12) of every JSON document flowrun prints or writes.

Each document names its schema in a ``"schema": "NAME/VERSION"`` field (in every
element, for outputs that are JSON arrays). A version is bumped only when a field is
renamed or removed; new fields may appear within a version, so every schema allows
additional properties but requires the fields that exist. The schemas ship as package
data beside this module (``NAME.json``) and ``flowrun schema NAME`` prints them.
"""
from __future__ import annotations

import json
from importlib import resources
from typing import Any

#: name -> current version. The JSON file's ``schema`` const must say the same
#: (``tests/test_json_outputs.py`` checks it).
VERSIONS = {
    "catalog": 1,
    "catalog-keys": 1,  # a plain array of strings: the one output without a "schema" field
    "explain": 1,
    "graph": 1,
    "history": 1,
    "logs": 1,
    "log-search": 1,
    "notification": 1,
    "notify-log": 1,
    "partitions": 1,
    "report": 2,
    "schedule": 1,
    "show": 1,
}


def tag(name: str) -> str:
    """The ``"schema"`` value of a document of ``name``: ``"show/1"``."""
    return f"{name}/{VERSIONS[name]}"


def load(name: str) -> dict[str, Any]:
    """The schema of ``name`` as a dict (a ``KeyError`` for an unknown name)."""
    return json.loads(text(name))


def text(name: str) -> str:
    """The schema file of ``name``, as shipped."""
    if name not in VERSIONS:
        raise KeyError(name)
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")
