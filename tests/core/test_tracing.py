"""OpenTelemetry spans, read back from the SDK's in-memory exporter and as a collector gets them."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from cuecard.app import create_app
from cuecard.auth import service as auth
from cuecard.core.config import Settings
from tests.core.serving import cuecard_serve


async def run_requests(
    settings: Settings, exporter: InMemorySpanExporter, *requests: tuple[str, str, dict[str, Any]]
) -> tuple[list[httpx.Response], list[ReadableSpan]]:
    """Runs the requests against a fresh app and returns them with every span it exported."""
    application = create_app(settings, span_exporter=exporter)
    responses = []
    async with application.router.lifespan_context(application):
        async with application.state.db.transaction() as uow:
            await auth.ensure_environment(uow, "default")
            _, secret = await auth.create_token(
                uow, settings.resolved_secret_key(), settings.token_prefix, "default"
            )
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for method, url, extra in requests:
                headers = {"Authorization": f"Bearer {secret}", **extra.pop("headers", {})}
                responses.append(await client.request(method, url, headers=headers, **extra))
    # Leaving the lifespan shuts the provider down, which flushes the batch processor.
    return responses, list(exporter.get_finished_spans())


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def otlp_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)


class TestSpans:
    async def test_a_request_span_with_its_database_calls_inside(
        self,
        settings: Settings,
        exporter: InMemorySpanExporter,
        otlp_configured: None,
        backend: str,
    ) -> None:
        [created, missing], spans = await run_requests(
            settings,
            exporter,
            ("POST", "/api/v1/agents", {"json": {"name": "Traced"}}),
            ("GET", "/api/v1/agents/no-such-agent", {}),
        )

        assert (created.status_code, missing.status_code) == (201, 404)
        servers = [s for s in spans if s.kind is SpanKind.SERVER]
        names = [s.name for s in servers]
        assert names == ["POST /api/v1/agents", "GET /api/v1/agents/{agent_id}"]
        post = servers[0]
        assert post.attributes is not None
        assert post.attributes["http.route"] == "/api/v1/agents"
        assert post.attributes["http.response.status_code"] == 201
        assert servers[1].attributes["http.response.status_code"] == 404  # type: ignore[index]
        inside = [s for s in spans if s.parent and s.parent.span_id == post.context.span_id]
        assert {s.kind for s in inside} == {SpanKind.CLIENT}
        operations = [s.attributes["db.operation.name"] for s in inside]  # type: ignore[index]
        assert "INSERT" in operations and "COMMIT" in operations
        assert all(s.context.trace_id == post.context.trace_id for s in inside)
        insert = next(s for s in inside if s.attributes["db.operation.name"] == "INSERT")  # type: ignore[index]
        assert insert.attributes["db.system.name"] == backend  # type: ignore[index]
        assert "INSERT INTO agents" in insert.attributes["db.query.text"]  # type: ignore[index,operator]
        assert "Traced" not in str(insert.attributes)  # SQL text only, never bound values

    async def test_an_incoming_traceparent_is_continued(
        self, settings: Settings, exporter: InMemorySpanExporter, otlp_configured: None
    ) -> None:
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        parent = f"00-{trace_id}-00f067aa0ba902b7-01"
        _, spans = await run_requests(
            settings, exporter, ("GET", "/api/v1/agents", {"headers": {"traceparent": parent}})
        )

        [server] = [s for s in spans if s.kind is SpanKind.SERVER]
        assert format(server.context.trace_id, "032x") == trace_id

    async def test_nothing_is_traced_without_an_otlp_endpoint(
        self, settings: Settings, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)

        [response], spans = await run_requests(settings, exporter, ("GET", "/api/v1/agents", {}))

        assert response.status_code == 200
        assert spans == []

    async def test_otel_sdk_disabled_wins(
        self,
        settings: Settings,
        exporter: InMemorySpanExporter,
        otlp_configured: None,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("OTEL_SDK_DISABLED", "true")

        _, spans = await run_requests(settings, exporter, ("GET", "/api/v1/agents", {}))

        assert spans == []


class TestOtlpExport:
    async def test_serve_sends_its_spans_to_the_otlp_endpoint(
        self, database_url: str, tmp_path: Path
    ) -> None:
        """A real `cuecard serve` and a real HTTP receiver on 127.0.0.1 in the collector's place."""
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        received: list[tuple[str, bytes]] = []

        class Collector(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
        threading.Thread(target=collector.serve_forever, daemon=True).start()
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_port}",
            "OTEL_SERVICE_NAME": "cuecard-test",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        try:
            with cuecard_serve(database_url, tmp_path / "serve.log", env=env) as base:
                assert httpx.get(f"{base}/api/v1/agents").status_code == 401
                deadline = time.monotonic() + 20
                # The webhook worker's own database spans may come first: wait for a request's.
                while time.monotonic() < deadline and not any(b"GET /" in b for _, b in received):
                    time.sleep(0.05)
        finally:
            collector.shutdown()
            collector.server_close()

        assert received, "no spans reached the collector"
        assert {path for path, _ in received} == {"/v1/traces"}
        names = set()
        for _, body in received:
            [resource] = ExportTraceServiceRequest.FromString(body).resource_spans
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            assert service["service.name"] == "cuecard-test"
            names |= {span.name for scope in resource.scope_spans for span in scope.spans}
        assert "GET /health" in names or "GET /api/v1/agents" in names
