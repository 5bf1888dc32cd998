"""A fan-out: one summary per region, computed in parallel, gathered in order."""
from __future__ import annotations

from salesdata import read_rows

from flowrun import Flow, task

flow = Flow(tags=["sales"], cache=True)


@task(reads=["flows/data/sales.csv"])
def regions():
    return sorted({row["region"] for row in read_rows("sales.csv")})


@task(each="regions", reads=["flows/data/sales.csv"])
def summarize(regions):
    """Runs once per region: ``regions`` here is one region name."""
    rows = [r for r in read_rows("sales.csv") if r["region"] == regions and r["units"]]
    return {"region": regions, "orders": len(rows),
            "units": sum(int(r["units"]) for r in rows)}


@task
def leaderboard(summarize):
    """Receives the list of every ``summarize`` result, in region order."""
    ranked = sorted(summarize, key=lambda s: s["units"], reverse=True)
    for place, row in enumerate(ranked, 1):
        print(f"{place}. {row['region']:<6} {row['units']:>5} units in {row['orders']} orders")
    return [row["region"] for row in ranked]
