"""The client's error mapping, retries and configuration, against httpx.MockTransport."""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cuecard.client import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    CuecardError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)

AGENT_ID = "550e8400-e29b-41d4-a716-446655440000"
TRAINING = {
    "id": "7d0c7a53-7ad4-4b36-9b0b-0ad9a3d2d0a1",
    "subject": "Refunds",
    "instructions": "Be kind.",
    "current_status": "active",
    "created_at": "2024-01-15T10:30:00Z",
    "updated_at": "2024-01-15T12:00:00Z",
}
Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, **options: Any) -> Client:
    options.setdefault("backoff_factor", 0.0)
    return Client(
        "http://cuecard.test",
        "talq_test",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        **options,
    )


def async_client_for(handler: Handler, **options: Any) -> AsyncClient:
    options.setdefault("backoff_factor", 0.0)
    return AsyncClient(
        "http://cuecard.test",
        "talq_test",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        **options,
    )


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers=headers)

    return handle


def sequence(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler that answers each request with the next response (or raises it)."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses[min(len(seen), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    return handle, seen


def ok_training() -> httpx.Response:
    return httpx.Response(200, json={"success": True, "message": "ok", "data": TRAINING})


def ok_list() -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": [TRAINING]})


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("status", "error"),
        [
            (401, AuthenticationError),
            (403, PermissionDeniedError),
            (404, NotFoundError),
            (409, ConflictError),
            (422, ValidationError),
            (429, RateLimitError),
            (500, ServerError),
            (503, ServerError),
            (400, APIError),
            (413, APIError),
        ],
    )
    def test_each_status_raises_its_exception(self, status: int, error: type[APIError]) -> None:
        body = {"success": False, "message": "Nope.", "code": "SOME_CODE"}
        with (
            client_for(answer(status, body), max_retries=0) as client,
            pytest.raises(error) as caught,
        ):
            client.trainings.list(AGENT_ID)

        assert type(caught.value) is error
        assert caught.value.status == status
        assert caught.value.code == "SOME_CODE"
        assert caught.value.message == "Nope."
        assert isinstance(caught.value, CuecardError)

    def test_validation_error_carries_every_field_message(self) -> None:
        body = {
            "success": False,
            "message": "The given data was invalid.",
            "code": "VALIDATION_ERROR",
            "errors": {"subject": ["The subject field is required."]},
        }
        with client_for(answer(422, body)) as client, pytest.raises(ValidationError) as caught:
            client.trainings.upsert(AGENT_ID, subject="", instructions="x")

        assert caught.value.errors == {"subject": ["The subject field is required."]}
        assert "The subject field is required." in str(caught.value)

    @pytest.mark.parametrize(
        ("body", "message", "code"),
        [
            ({"success": False, "message": "Unauthenticated."}, "Unauthenticated.", None),
            ({"message": "Missing Bearer Token"}, "Missing Bearer Token", None),
            (
                {"error": {"code": "INVALID_TOKEN", "message": "Invalid or missing token"}},
                "Invalid or missing token",
                "INVALID_TOKEN",
            ),
            (
                {"error": "TOKEN_EXPIRED", "message": "Token expired", "status_code": 401},
                "Token expired",
                "TOKEN_EXPIRED",
            ),
        ],
    )
    def test_every_documented_talkover_error_shape_is_read(
        self, body: dict[str, Any], message: str, code: str | None
    ) -> None:
        with client_for(answer(401, body)) as client, pytest.raises(AuthenticationError) as caught:
            client.agents.get(AGENT_ID)

        assert (caught.value.message, caught.value.code) == (message, code)

    def test_a_non_json_error_page_keeps_its_text(self) -> None:
        def handle(request: httpx.Request) -> httpx.Response:
            return httpx.Response(502, text="<html>Bad Gateway</html>")

        with client_for(handle, max_retries=0) as client, pytest.raises(ServerError) as caught:
            client.agents.get(AGENT_ID)

        assert caught.value.status == 502
        assert "Bad Gateway" in caught.value.message

    def test_a_success_that_is_not_json_is_an_error_not_garbage(self) -> None:
        def handle(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, text="<html>login page</html>")

        with client_for(handle) as client, pytest.raises(APIError) as caught:
            client.agents.get(AGENT_ID)

        assert caught.value.code == "INVALID_RESPONSE"

    def test_request_id_is_kept_for_bug_reports(self) -> None:
        body = {"success": False, "message": "Internal server error.", "code": "SERVER_ERROR"}
        handler = answer(500, body, headers={"X-Request-ID": "req-123"})
        with client_for(handler, max_retries=0) as client, pytest.raises(ServerError) as caught:
            client.agents.get(AGENT_ID)

        assert caught.value.request_id == "req-123"

    def test_connection_failure_is_also_a_builtin_connection_error(self) -> None:
        handler, _ = sequence(httpx.ConnectError("connection refused"))
        with (
            client_for(handler, max_retries=0) as client,
            pytest.raises(builtins.ConnectionError) as caught,
        ):
            client.agents.get(AGENT_ID)

        assert isinstance(caught.value, APIConnectionError)
        assert not isinstance(caught.value, APITimeoutError)

    def test_timeout_is_also_a_builtin_timeout_error(self) -> None:
        handler, _ = sequence(httpx.ReadTimeout("too slow"))
        with (
            client_for(handler, max_retries=0) as client,
            pytest.raises(builtins.TimeoutError) as caught,
        ):
            client.agents.get(AGENT_ID)

        assert isinstance(caught.value, APITimeoutError)
        assert isinstance(caught.value, APIConnectionError)

    async def test_async_client_maps_errors_the_same_way(self) -> None:
        body = {"success": False, "message": "Agent not found", "code": "AGENT_NOT_FOUND"}
        async with async_client_for(answer(404, body)) as client:
            with pytest.raises(NotFoundError) as caught:
                await client.agents.get(AGENT_ID)

        assert caught.value.code == "AGENT_NOT_FOUND"


class TestRetries:
    def test_get_is_retried_after_a_server_error(self) -> None:
        handler, seen = sequence(httpx.Response(503), ok_list())
        with client_for(handler) as client:
            trainings = client.trainings.list(AGENT_ID)

        assert len(seen) == 2
        assert [t.subject for t in trainings] == ["Refunds"]

    def test_get_is_retried_after_a_connection_error(self) -> None:
        handler, seen = sequence(httpx.ConnectError("refused"), ok_list())
        with client_for(handler) as client:
            client.trainings.list(AGENT_ID)

        assert len(seen) == 2

    def test_delete_is_retried(self) -> None:
        handler, seen = sequence(httpx.Response(502), httpx.Response(200, json={"success": True}))
        with client_for(handler) as client:
            client.trainings.delete(AGENT_ID, TRAINING["id"])

        assert [r.method for r in seen] == ["DELETE", "DELETE"]

    def test_upsert_with_node_id_is_retried(self) -> None:
        handler, seen = sequence(httpx.ReadTimeout("slow"), ok_training())
        with client_for(handler) as client:
            client.trainings.upsert(AGENT_ID, node_id="n", subject="S", instructions="I")

        assert len(seen) == 2
        assert json.loads(seen[1].content)["node_id"] == "n"

    def test_upsert_without_node_id_is_never_repeated(self) -> None:
        # A repeat would create a second training.
        handler, seen = sequence(httpx.ReadTimeout("slow"), ok_training())
        with client_for(handler) as client, pytest.raises(APITimeoutError):
            client.trainings.upsert(AGENT_ID, subject="S", instructions="I")

        assert len(seen) == 1

    @pytest.mark.parametrize("call", ["create", "publish"])
    def test_other_posts_are_never_repeated(self, call: str) -> None:
        handler, seen = sequence(httpx.Response(503), ok_training())
        with client_for(handler) as client, pytest.raises(ServerError):
            if call == "create":
                client.agents.create("Bot")
            else:
                client.agents.publish(AGENT_ID)

        assert len(seen) == 1

    def test_client_errors_are_not_retried(self) -> None:
        handler, seen = sequence(httpx.Response(404, json={"message": "Agent not found"}))
        with client_for(handler) as client, pytest.raises(NotFoundError):
            client.agents.get(AGENT_ID)

        assert len(seen) == 1

    def test_gives_up_after_max_retries(self) -> None:
        handler, seen = sequence(httpx.Response(500, json={"message": "Internal server error."}))
        with client_for(handler, max_retries=3) as client, pytest.raises(ServerError):
            client.agents.get(AGENT_ID)

        assert len(seen) == 4

    def test_429_waits_as_long_as_retry_after_says(self, monkeypatch: pytest.MonkeyPatch) -> None:
        waits: list[float] = []
        monkeypatch.setattr("cuecard.client._client.time.sleep", waits.append)
        limited = httpx.Response(429, json={"message": "Too many"}, headers={"Retry-After": "7"})
        handler, seen = sequence(limited, ok_list())
        with client_for(handler, backoff_factor=0.5) as client:
            client.trainings.list(AGENT_ID)

        assert waits == [7.0]
        assert len(seen) == 2

    def test_retry_after_as_an_http_date_is_honoured(self, monkeypatch: pytest.MonkeyPatch) -> None:
        waits: list[float] = []
        monkeypatch.setattr("cuecard.client._client.time.sleep", waits.append)
        past = "Wed, 21 Oct 2015 07:28:00 GMT"
        limited = httpx.Response(429, headers={"Retry-After": past})
        handler, _ = sequence(limited, ok_list())
        with client_for(handler, backoff_factor=0.5) as client:
            client.trainings.list(AGENT_ID)

        assert waits == [0.0]

    def test_a_retry_after_beyond_a_minute_is_left_to_the_caller(self) -> None:
        limited = httpx.Response(
            429, json={"message": "Slow down"}, headers={"Retry-After": "3600"}
        )
        handler, seen = sequence(limited, ok_list())
        with client_for(handler) as client, pytest.raises(RateLimitError) as caught:
            client.trainings.list(AGENT_ID)

        assert caught.value.retry_after == 3600.0
        assert len(seen) == 1

    def test_backoff_grows_exponentially_with_jitter(self, monkeypatch: pytest.MonkeyPatch) -> None:
        waits: list[float] = []
        monkeypatch.setattr("cuecard.client._client.time.sleep", waits.append)
        handler, _ = sequence(httpx.Response(503))
        with (
            client_for(handler, max_retries=4, backoff_factor=1.0) as client,
            pytest.raises(ServerError),
        ):
            client.agents.get(AGENT_ID)

        ceilings = [1.0, 2.0, 4.0, 8.0]
        assert len(waits) == 4
        assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True))

    async def test_async_client_retries_the_same_way(self) -> None:
        handler, seen = sequence(httpx.Response(503), httpx.ConnectError("x"), ok_list())
        async with async_client_for(handler) as client:
            trainings = await client.trainings.list(AGENT_ID)

        assert len(seen) == 3
        assert len(trainings) == 1

    async def test_async_upsert_without_node_id_is_never_repeated(self) -> None:
        handler, seen = sequence(httpx.Response(503), ok_training())
        async with async_client_for(handler) as client:
            with pytest.raises(ServerError):
                await client.trainings.upsert(AGENT_ID, subject="S", instructions="I")

        assert len(seen) == 1


class TestConfiguration:
    def test_url_and_token_come_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CUECARD_URL", "http://from-env.test/")
        monkeypatch.setenv("CUECARD_TOKEN", "talq_env")
        handler, seen = sequence(ok_list())

        with Client(http_client=httpx.Client(transport=httpx.MockTransport(handler))) as client:
            client.trainings.list(AGENT_ID)

        assert str(seen[0].url) == f"http://from-env.test/api/v1/agents/{AGENT_ID}/trainings"
        assert seen[0].headers["authorization"] == "Bearer talq_env"

    def test_missing_url_or_token_says_how_to_fix_it(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("CUECARD_URL", raising=False)
        monkeypatch.delenv("CUECARD_TOKEN", raising=False)

        with pytest.raises(CuecardError, match="CUECARD_URL"):
            Client(token="talq_x")
        with pytest.raises(CuecardError, match="CUECARD_TOKEN"):
            Client("http://x.test")

    def test_the_documented_api_base_url_works_too(self) -> None:
        handler, seen = sequence(ok_list())
        with Client(
            "https://app.example.test/api/v1/",
            "talq_x",
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        ) as client:
            client.trainings.list(AGENT_ID)

        assert seen[0].url.path == f"/api/v1/agents/{AGENT_ID}/trainings"

    def test_ids_cannot_walk_to_another_route(self) -> None:
        handler, seen = sequence(ok_list())
        with client_for(handler) as client:
            client.trainings.list("../../health")

        assert seen[0].url.raw_path.startswith(b"/api/v1/agents/..%2F..%2Fhealth/")

    def test_the_token_never_shows_in_repr(self) -> None:
        client = Client("http://x.test", "talq_secret")
        assert "talq_secret" not in repr(client)
        client.close()

    def test_a_given_http_client_is_left_open(self) -> None:
        http = httpx.Client(transport=httpx.MockTransport(answer(200, {"data": []})))
        with Client("http://x.test", "talq_x", http_client=http):
            pass

        assert not http.is_closed
        http.close()
