"""The SDK's tracer provider, made from the standard ``OTEL_*`` variables: the exporter
(``OTEL_TRACES_EXPORTER``: ``otlp``, the default, or ``console``), its protocol
(``OTEL_EXPORTER_OTLP_PROTOCOL``: ``http/protobuf``, the default, or ``grpc``), its
endpoint and headers (read by the exporter itself), ``OTEL_SERVICE_NAME``."""
from __future__ import annotations

import os
from typing import Any

from flowrun.plugin import UsageError

_PROVIDER: list[Any] = []  # the provider this process made and its processor, if any
#: The pid of the process tracing the runs (the others run attempts for it).
COORDINATOR: list[int] = []


def provider(env: dict[str, str] | None = None) -> Any:
    """This process's SDK provider, made (and set as the global one) on first use;
    ``env``: the tracing process's ``OTEL_*`` variables, for a worker that did not
    inherit them (SSH), its own ones first."""
    if _PROVIDER:
        return _PROVIDER[0]
    for name, value in (env or {}).items():
        os.environ.setdefault(name, value)
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    made = TracerProvider(resource=Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME") or "flowrun"}))
    processor = BatchSpanProcessor(_exporter())
    made.add_span_processor(processor)
    trace.set_tracer_provider(made)
    _PROVIDER[:] = [made, processor]
    return made


def processor() -> Any:
    """The batch processor this process's spans are handed to."""
    provider()
    return _PROVIDER[1]


def _exporter() -> Any:
    kind = (os.environ.get("OTEL_TRACES_EXPORTER") or "otlp").split(",")[0].strip().lower()
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind != "otlp":
        raise UsageError(f"OTEL_TRACES_EXPORTER={kind}: flowrun exports traces with "
                         "otlp or console (or none: off)")
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or \
        os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise UsageError("OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the gRPC exporter: "
                             "pip install \"flowrun-otel[grpc]\"") from None
        return OTLPSpanExporter()
    if protocol != "http/protobuf":
        raise UsageError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: expected "
                         "http/protobuf or grpc")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def shutdown() -> None:
    """Send what is left and stop the exporter (the end of the invocation)."""
    if _PROVIDER:
        _PROVIDER[0].shutdown()
        _PROVIDER.clear()
