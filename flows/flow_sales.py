"""A small ETL over the bundled sales file: extract -> clean -> per-region totals ->
report. Run it with ``flowrun flows/flow_sales.py``; pick another file with
``--param source=other.csv``.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from salesdata import read_rows

from flowrun import Flow, task

flow = Flow(tags=["daily", "sales"], cache=True)  # a second run reuses what is unchanged
log = logging.getLogger(__name__)


@task(tags=["io"], reads=["flows/data/{source}"])
def extract(source: str = "sales.csv"):
    rows = read_rows(source)
    print(f"read {len(rows)} rows from {source}")
    return rows


@task
def clean(extract):
    """Drop rows with no units; turn numbers into numbers."""
    good = [{**r, "units": int(r["units"]), "unit_price": float(r["unit_price"])}
            for r in extract if r["units"]]
    print(f"dropped {len(extract) - len(good)} incomplete rows")
    return good


@task
def revenue_by_region(clean):
    totals: dict[str, float] = {}
    for row in clean:
        totals[row["region"]] = totals.get(row["region"], 0.0) + row["units"] * row["unit_price"]
    return dict(sorted(totals.items()))


@task
def best_product(clean):
    units: dict[str, int] = {}
    for row in clean:
        units[row["product"]] = units.get(row["product"], 0) + row["units"]
    return max(units, key=units.get)


@task(tags=["io"], writes=["{out_dir}/sales.json"])
def report(revenue_by_region, best_product, out_dir: str = ".flowrun/reports"):
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    body = {"revenue_by_region": revenue_by_region, "best_product": best_product}
    (path / "sales.json").write_text(json.dumps(body, indent=2))
    print(f"wrote {path / 'sales.json'}: best product {best_product}")
    return body
