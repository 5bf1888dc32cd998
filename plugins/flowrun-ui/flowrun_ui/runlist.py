"""The runs list with every filter the page and ``GET /runs`` take: flow and status in
the store's own query; tag (a flow's), partition and host by reading pages of runs
until enough match."""
from __future__ import annotations

from typing import Any

from flowrun.plugin import LiveStore, StoreError

from flowrun_ui.views import RUN_ID, run_json

BATCH = 500


class Filters:
    def __init__(self, flow: str | None = None, status: str | None = None,
                 tag: str | None = None, partition: str | None = None,
                 host: str | None = None) -> None:
        self.flow, self.status, self.tag = flow or None, status or None, tag or None
        self.partition, self.host = partition or None, host or None

    def as_dict(self) -> dict[str, str | None]:
        return {"flow": self.flow, "status": self.status, "tag": self.tag,
                "partition": self.partition, "host": self.host}

    def beyond_the_store(self) -> bool:
        return bool(self.tag or self.partition or self.host)


def list_runs(state: Any, filters: Filters, limit: int, before: str | None
              ) -> list[dict[str, Any]]:
    from flowrun_ui.actions import ApiError

    if before and not RUN_ID.fullmatch(before):
        raise ApiError(404, f"no run {before!r}")
    flows = _tagged(state, filters.tag)
    if flows is not None and not flows:
        return []
    if not filters.beyond_the_store():
        return [run_json(r) for r in _page(state, filters.flow, filters.status, limit, before)]
    found: list[Any] = []
    while len(found) < limit:
        batch = _page(state, filters.flow, filters.status, BATCH, before)
        found += [r for r in batch if _matches(r, filters, flows)]
        if len(batch) < BATCH:
            break
        before = batch[-1].id
    return [run_json(r) for r in found[:limit]]


def _matches(run: Any, filters: Filters, flows: set[str] | None) -> bool:
    return ((flows is None or run.flow_id in flows)
            and (filters.partition is None or run.partition == filters.partition)
            and (filters.host is None or run.host == filters.host))


def _tagged(state: Any, tag: str | None) -> set[str] | None:
    if tag is None:
        return None
    return {f["id"] for f in state.catalog.flows() if tag in (f.get("tags") or [])}


def _page(state: Any, flow: str | None, status: str | None, limit: int,
          before: str | None) -> list[Any]:
    from flowrun_ui.actions import ApiError

    store = state.store
    if isinstance(store, LiveStore):
        try:
            return store.runs_page(flow=flow, status=status, limit=limit, before=before)
        except StoreError as exc:
            raise ApiError(404, str(exc)) from None
    runs = store.list_runs(flow=flow, status=status)  # any store: the slow way
    if before:
        ids = [r.id for r in runs]
        if before not in ids:
            raise ApiError(404, f"no run {before!r}")
        runs = runs[ids.index(before) + 1:]
    return runs[:limit]


def resumed_by(state: Any, run: dict[str, Any]) -> list[str]:
    """Runs resumed (or rerun) from ``run``: among the newest of its flow."""
    newer = _page(state, run["flow_id"], None, BATCH, None)
    return [r.id for r in newer if r.resumed_from == run["id"]]
