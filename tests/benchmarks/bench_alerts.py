"""What alerts cost per task: the engine (thread executor, SQLite store) on a no-op
fan-out, in rounds of three runs in one process: plain, with the notifier registered
(channels configured, nothing to send), and with tracing on (flowrun-otel's tracer, a
span per attempt and its trace context in the call; the spans are built at the
session's end and go to an in-memory exporter through the SDK's batch processor, so the
network is not measured). Prints medians of
µs/task and of the per-round differences. Asserts nothing.

    python tests/benchmarks/bench_alerts.py [N] [-r 5]
    python tests/benchmarks/bench_alerts.py --smoke    # 200 tasks, once
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from types import SimpleNamespace

from bench_engine import build, run_flow_once

from flowrun.plugins import make_plugin_manager


def tracer_plugin() -> object:
    """flowrun-otel's RunTracer on an SDK provider exporting to memory."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from flowrun_otel import setup
    from flowrun_otel.tracer import RunTracer

    provider = TracerProvider()
    processor = BatchSpanProcessor(InMemorySpanExporter(), max_queue_size=1 << 20)
    provider.add_span_processor(processor)
    setup._PROVIDER[:] = [provider, processor]
    return RunTracer(config=None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("-r", "--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.n, args.repeat = 200, 1
    from flowrun.notify.plugin import Notifier

    with tempfile.TemporaryDirectory() as store_dir:
        plain = make_plugin_manager(["no:terminal"], store_dir)
        notifying = make_plugin_manager(["no:terminal"], store_dir)
        notifying.register(Notifier(config=None, channels=[]), "notifier")
        tracing = make_plugin_manager(["no:terminal"], store_dir)
        tracer = tracer_plugin()
        from flowrun_otel import setup

        processor = setup.processor()
        tracing.register(tracer, "otel-tracer")
        rounds, building = [], []

        def export(storage: object) -> None:
            """The session's end: the spans, built from the store (timed apart)."""
            began = time.perf_counter()
            tracer.flowrun_session_finish(session=SimpleNamespace(storage=storage))
            building.append(time.perf_counter() - began)
            processor.force_flush()  # its exporting thread idle before the next round

        for _ in range(args.repeat):
            flow = build("fanout", args.n)
            rounds.append((run_flow_once(flow, plain.hook, store_dir),
                           run_flow_once(flow, notifying.hook, store_dir),
                           run_flow_once(flow, tracing.hook, store_dir,
                                         prepare=[tracer.prepare_call],  # type: ignore
                                         after=export)))
    per = [[r[i] * 1e6 / args.n for r in rounds] for i in range(3)]
    print(f"fan-out of {args.n}, median of {args.repeat} rounds, µs/task:")
    print(f"  plain              {statistics.median(per[0]):7.1f}")
    print(f"  notify configured  {statistics.median(per[1]):7.1f}  "
          f"(ratio to plain {statistics.median(n / p for p, n in zip(per[0], per[1])):.2f})")
    print(f"  tracing on         {statistics.median(per[2]):7.1f}  "
          f"(+{statistics.median(t - p for p, t in zip(per[0], per[2])):.1f} µs per "
          "task attempt)")
    print(f"  then, at the session's end: {statistics.median(building) * 1e6 / args.n:.1f} "
          "µs per attempt reading it back and building its span")


if __name__ == "__main__":
    main()
