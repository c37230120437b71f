"""The error envelope for framework errors, body limits, request ids and health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cuecard.app import create_app
from cuecard.core.config import Settings


class TestFrameworkErrors:
    async def test_unknown_route_is_404_in_the_envelope(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/nothing-here")

        assert response.status_code == 404
        assert response.json() == {
            "success": False,
            "message": "The route api/v1/nothing-here could not be found.",
            "code": "NOT_FOUND",
        }

    async def test_wrong_method_is_405_in_the_envelope(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        response = await client.put(f"/api/v1/agents/{agent['id']}", headers=headers)

        assert response.status_code == 405
        assert response.json() == {
            "success": False,
            "message": "The PUT method is not supported for this route. "
            "Supported methods: GET, PATCH, DELETE.",
            "code": "METHOD_NOT_ALLOWED",
        }
        assert response.headers["Allow"] == "GET, PATCH, DELETE"


class TestServerErrors:
    async def test_unexpected_error_is_500_without_internals(
        self, app: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def explode() -> None:
            raise RuntimeError("secret internals: password=hunter2")

        app.add_api_route("/explode", explode)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        with caplog.at_level(logging.ERROR, logger="cuecard.errors"):
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get("/explode", headers={"X-Request-ID": "req-123"})

        assert response.status_code == 500
        assert response.json() == {
            "success": False,
            "message": "Internal server error.",
            "code": "SERVER_ERROR",
        }
        assert "hunter2" not in response.text
        assert response.headers["X-Request-ID"] == "req-123"
        assert any("req-123" in r.getMessage() for r in caplog.records)


class TestRequestIds:
    async def test_every_response_carries_a_request_id(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health")

        assert len(response.headers["X-Request-ID"]) == 32

    async def test_a_sane_client_request_id_is_echoed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "abc-123"})

        assert response.headers["X-Request-ID"] == "abc-123"

    async def test_an_unsafe_client_request_id_is_replaced(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "a b\tc" * 50})

        assert response.headers["X-Request-ID"] != "a b\tc" * 50


@pytest.fixture
async def small_limit_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(**{**settings.__dict__, "max_body_bytes": 2048}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


class TestBodyLimit:
    async def test_declared_oversized_body_is_413(
        self, small_limit_client: httpx.AsyncClient, make_token: Any
    ) -> None:
        response = await small_limit_client.post(
            "/api/v1/agents", content=b"x" * 4096, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 413
        assert response.json() == {
            "success": False,
            "message": "The request body is too large.",
            "code": "PAYLOAD_TOO_LARGE",
        }

    async def test_streamed_oversized_body_is_413(
        self, small_limit_client: httpx.AsyncClient, settings: Settings
    ) -> None:
        from cuecard.auth import service as auth

        app = small_limit_client.app  # type: ignore[attr-defined]
        async with app.state.db.transaction() as uow:
            await auth.ensure_environment(uow, "default")
            _, token = await auth.create_token(uow, settings.resolved_secret_key(), "talq_",
                                               "default")  # fmt: skip

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b" " * 1024

        response = await small_limit_client.post(
            "/api/v1/agents",
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

        assert response.status_code == 413
        assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


class TestHealth:
    @pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
    async def test_health_needs_no_token(self, client: httpx.AsyncClient, path: str) -> None:
        response = await client.get(path)

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_health_is_503_when_the_database_does_not_answer(
        self, app: Any, client: httpx.AsyncClient
    ) -> None:
        await app.state.db.close()

        response = await client.get("/health")

        assert response.status_code == 503
        assert response.json() == {"status": "unavailable"}
