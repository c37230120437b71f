"""Idempotency-Key on writes: replays without a second write, refusals for a reused key, 409
while the first request runs; stored in the database, so it holds across servers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cuecard.app import create_app
from tests.conftest import TokenFactory, bearer
from tests.hardening.servers import make_token_in, serve
from tests.runtime.fake_llm import FakeLlm, running_fake_llm
from tests.runtime.test_conversations import llm_settings


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def total_agents(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return int((await client.get("/api/v1/agents", headers=headers)).json()["meta"]["total"])


class TestReplay:
    async def test_the_same_key_and_body_replays_the_first_response_without_writing(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        first = await client.post("/api/v1/agents", json={"name": "Once"},
                                  headers=keyed(headers, "create-1"))  # fmt: skip
        again = await client.post("/api/v1/agents", json={"name": "Once"},
                                  headers=keyed(headers, "create-1"))  # fmt: skip

        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert again.headers["ETag"] == first.headers["ETag"]
        assert await total_agents(client, headers) == 1

    async def test_the_same_key_with_another_body_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        await client.post("/api/v1/agents", json={"name": "A"}, headers=keyed(headers, "k"))
        other = await client.post("/api/v1/agents", json={"name": "B"}, headers=keyed(headers, "k"))

        assert other.status_code == 422
        assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert await total_agents(client, headers) == 1

    async def test_without_a_key_writes_behave_as_before(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        for _ in range(2):
            await client.post("/api/v1/agents", json={"name": "Twice"}, headers=headers)

        assert await total_agents(client, headers) == 2

    async def test_a_refusal_is_remembered_too(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        first = await client.post("/api/v1/agents", json={}, headers=keyed(headers, "bad"))
        again = await client.post("/api/v1/agents", json={}, headers=keyed(headers, "bad"))

        assert first.status_code == again.status_code == 422
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"

    async def test_a_delete_replays_its_success_instead_of_404(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        url = f"/api/v1/agents/{agent['id']}"
        first = await client.delete(url, headers=keyed(headers, "del"))
        again = await client.delete(url, headers=keyed(headers, "del"))
        fresh = await client.delete(url, headers=keyed(headers, "del-2"))

        assert (first.status_code, again.status_code, fresh.status_code) == (200, 200, 404)

    async def test_keys_belong_to_their_token(
        self, client: httpx.AsyncClient, headers: dict[str, str], make_token: TokenFactory
    ) -> None:
        other = bearer(await make_token())
        await client.post("/api/v1/agents", json={"name": "A"}, headers=keyed(headers, "same"))
        theirs = await client.post("/api/v1/agents", json={"name": "A"},
                                   headers=keyed(other, "same"))  # fmt: skip

        assert theirs.status_code == 201
        assert "Idempotent-Replayed" not in theirs.headers
        assert await total_agents(client, headers) == 2

    async def test_a_replay_is_authenticated_and_counted(
        self, app: Any, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        from cuecard.auth import service as auth

        first = await client.post("/api/v1/agents", json={"name": "A"}, headers=keyed(headers, "r"))
        again = await client.post("/api/v1/agents", json={"name": "A"}, headers=keyed(headers, "r"))
        async with app.state.db.transaction() as uow:
            [info] = await auth.list_tokens(uow)
            await auth.revoke_token(uow, info.id)
        app.state.token_cache = auth.TokenCache(0)  # no wait for the cache to expire
        revoked = await client.post("/api/v1/agents", json={"name": "A"},
                                    headers=keyed(headers, "r"))  # fmt: skip

        assert int(again.headers["X-RateLimit-Remaining"]) == (
            int(first.headers["X-RateLimit-Remaining"]) - 1
        )
        assert revoked.status_code == 401

    @pytest.mark.parametrize("key", [b"", b"x" * 256, b"has space", "caf\u00e9".encode()])
    async def test_a_malformed_key_is_422(
        self, client: httpx.AsyncClient, headers: dict[str, str], key: bytes
    ) -> None:
        response = await client.post(
            "/api/v1/agents",
            json={"name": "A"},
            headers=[*((k.encode(), v.encode()) for k, v in headers.items()),
                     (b"Idempotency-Key", key)],
        )  # fmt: skip

        assert response.status_code == 422
        assert "Idempotency-Key" in response.json()["errors"]
        assert await total_agents(client, headers) == 0


@pytest.fixture
def slow_llm() -> Iterator[FakeLlm]:
    with running_fake_llm() as fake:
        fake.mode, fake.delay_seconds = "slow", 1.5
        yield fake


class TestInProgress:
    async def test_a_key_whose_first_request_still_runs_is_409(
        self, database_url: str, slow_llm: FakeLlm, make_token: TokenFactory
    ) -> None:
        app = create_app(llm_settings(database_url, slow_llm.url))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                headers = bearer(await _token(app))
                agent = (await client.post("/api/v1/agents", json={"name": "Slow"},
                                           headers=headers)).json()["data"]  # fmt: skip
                url = f"/api/v1/agents/{agent['id']}/test-conversations"
                body = {"messages": [{"role": "user", "content": "Hi"}]}
                first = asyncio.create_task(
                    client.post(url, json=body, headers=keyed(headers, "slow"))
                )
                await asyncio.sleep(0.5)
                during = await client.post(url, json=body, headers=keyed(headers, "slow"))
                done = await first
                after = await client.post(url, json=body, headers=keyed(headers, "slow"))

        assert during.status_code == 409
        assert during.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"
        assert during.headers["Retry-After"] == "1"
        assert done.status_code == 200
        assert after.json() == done.json()
        assert len(slow_llm.received) == 1


async def _token(app: Any) -> str:
    from cuecard.auth import service as auth
    from tests.conftest import SECRET

    async with app.state.db.transaction() as uow:
        await auth.ensure_environment(uow, "default")
        _, secret = await auth.create_token(uow, SECRET.encode(), "talq_", "default")
    return secret


class TestAcrossServers:
    async def test_a_retry_sent_to_another_server_replays(
        self, database_url: str, backend: str, tmp_path: Path, app: Any
    ) -> None:
        headers = bearer(await make_token_in(database_url))
        with serve(database_url, tmp_path) as one, serve(database_url, tmp_path) as two:
            first = httpx.post(f"{one.url}/api/v1/agents", json={"name": "Retried"},
                               headers=keyed(headers, "across"))  # fmt: skip
            again = httpx.post(f"{two.url}/api/v1/agents", json={"name": "Retried"},
                               headers=keyed(headers, "across"))  # fmt: skip
            listed = httpx.get(f"{two.url}/api/v1/agents", headers=headers).json()

        assert first.status_code == again.status_code == 201
        assert again.json()["data"]["id"] == first.json()["data"]["id"]
        assert again.headers["Idempotent-Replayed"] == "true"
        assert listed["meta"]["total"] == 1
