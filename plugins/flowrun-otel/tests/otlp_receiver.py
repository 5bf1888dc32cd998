"""A real OTLP/HTTP trace endpoint on 127.0.0.1: decodes each protobuf
``ExportTraceServiceRequest`` (opentelemetry-proto) and keeps its spans."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OtlpReceiver:
    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.spans: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        receiver.spans.extend(_span(s) for s in scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def env(self) -> dict[str, str]:
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}",
                "OTEL_BSP_SCHEDULE_DELAY": "50"}

    def named(self, name: str) -> dict[str, Any]:
        [span] = [s for s in self.spans if s["name"] == name]
        return span

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _span(span: Any) -> dict[str, Any]:
    attributes = {a.key: getattr(a.value, a.value.WhichOneof("value"))
                  for a in span.attributes}
    return {"name": span.name, "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(),
            "parent": span.parent_span_id.hex() or None, "status": span.status.code,
            "events": [e.name for e in span.events],
            "event_attributes": [{a.key: a.value.string_value for a in e.attributes}
                                 for e in span.events],
            "attributes": attributes}


class OtlpGrpcReceiver:
    """The same endpoint over gRPC (``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``): a real grpcio
    server with opentelemetry-proto's trace service."""

    def __init__(self) -> None:
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.trace.v1 import (
            trace_service_pb2,
            trace_service_pb2_grpc,
        )

        self.spans: list[dict[str, Any]] = []
        receiver = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC's
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        receiver.spans.extend(_span(s) for s in scope.spans)
                return trace_service_pb2.ExportTraceServiceResponse()

        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def env(self) -> dict[str, str]:
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}",
                "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_INSECURE": "true",
                "OTEL_BSP_SCHEDULE_DELAY": "50"}

    def named(self, name: str) -> dict[str, Any]:
        [span] = [s for s in self.spans if s["name"] == name]
        return span

    def stop(self) -> None:
        self.server.stop(grace=None)
