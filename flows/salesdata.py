"""Helpers shared by the example flows (imported the way pytest imports conftest-less
helpers: the flow file's folder is on sys.path)."""
from __future__ import annotations

import csv
from pathlib import Path

DATA = Path(__file__).parent / "data"


def read_rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="") as handle:
        return list(csv.DictReader(handle))
