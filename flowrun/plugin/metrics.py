"""The store's figures in the Prometheus text format: ``flowrun metrics`` prints them
(for node_exporter's textfile collector) and ``flowrun ui`` serves them at
``/metrics``. The store computes aggregates (``MetricsStore.metrics``);
``prometheus_client`` writes the text."""
from __future__ import annotations

from typing import Any, Callable, Iterable

#: Histogram bucket bounds, in seconds (a task of 10 ms to a run of 6 hours).
BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def bucket_histograms(rows: Iterable[tuple[Any, int, int, float | None]], size: int,
                      label: Callable[[Any], Any]) -> dict[Any, tuple[list[int], float]]:
    """A store's ``(name, bucket index, count, total seconds)`` rows grouped into
    ``MetricsStore.metrics``' histograms: {label(name): (per-bucket counts, sum)}, with
    ``size`` bounds and one bucket more for +Inf."""
    found: dict[Any, tuple[list[int], float]] = {}
    for name, bucket, count, total in rows:
        key = label(name)
        counts, previous = found.get(key) or ([0] * (size + 1), 0.0)
        counts[bucket] += count
        found[key] = (counts, previous + (total or 0.0))
    return found


def count_running(rows: Iterable[tuple[int | None, str | None]]) -> int:
    """How many of the runs recorded running, as ``(pid, host)`` rows, still are: one
    whose process on this host is gone is not (``Run.process_gone``)."""
    from flowrun.model import RUNNING, Run

    return sum(1 for pid, host in rows
               if not Run(id="", flow_id="", status=RUNNING, pid=pid, host=host).process_gone())


def render_metrics(storage: Any) -> bytes:
    """The text exposition of ``storage``'s aggregates (a store without
    ``MetricsStore`` gives a ``StoreError``)."""
    from flowrun.errors import StoreError
    from flowrun.plugin.storage import MetricsStore

    if not isinstance(storage, MetricsStore):
        raise StoreError(f"the store {storage.url} cannot compute metrics")
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(storage.metrics(BUCKETS)))
    return generate_latest(registry)


class _Collector:
    """One scrape's metric families, from one ``metrics()`` answer."""

    def __init__(self, figures: dict[str, Any]) -> None:
        self.figures = figures

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        f = self.figures
        runs = CounterMetricFamily("flowrun_runs", "Runs recorded, by flow and status",
                                   labels=["flow", "status"])
        for (flow, status), count in sorted(f["runs"].items()):
            runs.add_metric([flow, status], count)
        yield runs
        yield GaugeMetricFamily("flowrun_runs_running", "Runs running now",
                                value=f["running"])
        yield _histogram("flowrun_run_duration_seconds", "Duration of finished runs",
                         ["flow"], {(k,): v for k, v in f["run_durations"].items()})
        yield _histogram("flowrun_task_duration_seconds", "Duration of task attempts",
                         ["flow", "task"], f["task_durations"])
        last = GaugeMetricFamily("flowrun_last_success_timestamp_seconds",
                                 "When the flow's last successful run ended",
                                 labels=["flow"])
        for flow, stamp in sorted(f["last_success"].items()):
            last.add_metric([flow], stamp)
        yield last
        missed = CounterMetricFamily("flowrun_schedule_missed", "Cron slots missed",
                                     labels=["flow"])
        for flow, count in sorted(f["missed"].items()):
            missed.add_metric([flow], count)
        yield missed
        yield CounterMetricFamily("flowrun_notifications_failed",
                                  "Notification deliveries that failed",
                                  value=f["notifications_failed"])


def _histogram(name: str, doc: str, labels: list[str],
               series: dict[Any, tuple[list[int], float]]) -> Any:
    from prometheus_client.core import HistogramMetricFamily

    family = HistogramMetricFamily(name, doc, labels=labels)
    for key, (counts, total) in sorted(series.items()):
        cumulative, buckets = 0, []
        for bound, count in zip([*map(str, BUCKETS), "+Inf"], counts):
            cumulative += count
            buckets.append((bound, cumulative))
        family.add_metric(list(key), buckets, total)
    return family
