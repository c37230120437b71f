"""OpenTelemetry traces: a span per request and per database call, only when configured.

Tracing is on when the standard OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set and OTEL_SDK_DISABLED is not `true`; the OTLP/HTTP
exporter then reads every other standard variable itself (headers, timeout, paths), as the batch
processor does (OTEL_BSP_*). The protocol is http/protobuf (a collector's port 4318; grpc is
not installed). OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service (default
`cuecard`). Without them nothing is imported beyond the API and no span is made.

Spans carry the route template, method and status, and for database calls the system and the
SQL text with its `:name` placeholders (never the values bound to them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cuecard import __version__

if TYPE_CHECKING:  # the SDK is imported only when tracing is on
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


@dataclass(frozen=True)
class Tracing:
    provider: TracerProvider
    tracer: Tracer

    def shutdown(self) -> None:
        """Sends what is still batched, then stops the exporter."""
        self.provider.shutdown()


def enabled(environ: Mapping[str, str]) -> bool:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return any(environ.get(name) for name in ENDPOINT_VARIABLES)


def from_env(
    environ: Mapping[str, str] | None = None, exporter: SpanExporter | None = None
) -> Tracing | None:
    """The tracer to use, or None when tracing is not configured.

    `exporter` replaces the OTLP exporter (tests pass the SDK's in-memory one); it is used only
    when the variables turn tracing on.
    """
    environ = os.environ if environ is None else environ
    if not enabled(environ):
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        if protocol != "http/protobuf":
            logging.getLogger("cuecard.tracing").warning(
                "OTLP protocol %r is not supported; exporting over http/protobuf", protocol
            )

        exporter = OTLPSpanExporter()
    attributes = {"service.version": __version__}
    if not environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = "cuecard"
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider, provider.get_tracer("cuecard", __version__))
