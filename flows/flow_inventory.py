"""A cached pipeline over files: per-region stock counts -> totals -> a report file.

Every task declares what it reads and writes and is cached, so a second
``flowrun flows/flow_inventory.py`` runs nothing (``cached``, up to date); edit
``flows/data/stock/us.csv`` and only the ``us`` count and what follows run again.
``flowrun explain flows/flow_inventory.py`` says why, part by part.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from flowrun import Flow, task

flow = Flow(tags=["inventory"], cache=True)  # every task of this flow is cached
ROOT = Path(__file__).resolve().parent.parent  # declared paths are relative to the rootdir


@task(each={"region": ["eu", "us"]}, reads=["flows/data/stock/{region}.csv"],
      writes=["out/inventory/{region}.json"])
def count(region: str):
    with open(ROOT / f"flows/data/stock/{region}.csv", newline="") as handle:
        units = {row["sku"]: int(row["units"]) for row in csv.DictReader(handle)}
    target = ROOT / f"out/inventory/{region}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(units, indent=2))
    return sum(units.values())


@task(reads=["out/inventory/"], writes=["out/inventory_report.txt"])
def report(count):
    lines = [f"{region}: {total} units" for region, total in zip(["eu", "us"], count)]
    (ROOT / "out/inventory_report.txt").write_text("\n".join(lines) + "\n")
    return sum(count)
