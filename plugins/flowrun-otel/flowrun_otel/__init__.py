"""[plugin] OpenTelemetry traces of flowrun runs (``flowrun --otel``, or the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_TRACES_EXPORTER`` variables).

Loaded with every invocation through its entry point, so this module imports nothing
but flowrun's plugin API: the SDK and the exporters load only when tracing is on.
"""
from __future__ import annotations

import os
from typing import Any

from flowrun.plugin import hookimpl

#: Any of these set (and OTEL_TRACES_EXPORTER not "none") turns tracing on.
SWITCHES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER")


@hookimpl
def flowrun_addoption(parser: Any) -> None:
    parser.addoption("--otel", "otel", is_flag=True, default=None,
                     help="Export OpenTelemetry traces of the runs (configured by the "
                     "standard OTEL_* variables; on when OTEL_EXPORTER_OTLP_ENDPOINT is "
                     "set).")


def tracing_wanted(config: Any) -> bool:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(config.getoption("otel")) or any(os.environ.get(name) for name in SWITCHES)


@hookimpl
def flowrun_configure(config: Any) -> None:
    if not tracing_wanted(config) or config.getoption("collectonly") or \
            config.pluginmanager.has_plugin("otel-tracer"):
        return
    from flowrun.plugin import CALL_PREPARERS

    from flowrun_otel.tracer import RunTracer

    tracer = RunTracer(config)
    config.pluginmanager.register(tracer, "otel-tracer")
    config.stash.setdefault(CALL_PREPARERS, []).append(tracer.prepare_call)
