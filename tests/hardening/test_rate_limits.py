"""Per-token rate limits: headers on every API response, 429 with Retry-After over the limit,
set per environment, holding across worker processes and, with Redis, across servers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from cuecard.auth import service as auth
from tests.conftest import TokenFactory, bearer
from tests.hardening.servers import make_token_in, private_redis, serve


async def set_limit(app: Any, environment: str, limit: int | None) -> None:
    async with app.state.db.transaction() as uow:
        await auth.ensure_environment(uow, environment)
        await auth.update_environment(uow, environment, limit)


def rejections(route: str) -> float:
    return REGISTRY.get_sample_value("cuecard_rate_limit_rejections_total", {"route": route}) or 0.0


class TestHeadersAndLimit:
    async def test_every_api_response_counts_down_the_limit(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        first = await client.get("/api/v1/agents", headers=headers)
        second = await client.get("/api/v1/agents/not-there", headers=headers)

        assert first.headers["X-RateLimit-Limit"] == "1000"
        assert first.headers["X-RateLimit-Remaining"] == "999"
        assert second.status_code == 404
        assert second.headers["X-RateLimit-Remaining"] == "998"
        reset = int(first.headers["X-RateLimit-Reset"])
        assert time.time() < reset <= time.time() + 60

    async def test_over_the_environments_limit_is_429_with_retry_after(
        self, app: Any, client: httpx.AsyncClient, make_token: TokenFactory
    ) -> None:
        await set_limit(app, "small", 3)
        headers = bearer(await make_token("small"))
        before = rejections("/api/v1/agents")

        answers = [await client.get("/api/v1/agents", headers=headers) for _ in range(5)]

        assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
        assert rejections("/api/v1/agents") - before == 2
        refused = answers[3]
        assert refused.json() == {
            "success": False,
            "message": "Too many requests. Please try again later.",
            "code": "RATE_LIMIT_EXCEEDED",
        }
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["X-RateLimit-Limit"] == "3"

    async def test_the_limit_is_per_token(
        self, app: Any, client: httpx.AsyncClient, make_token: TokenFactory
    ) -> None:
        await set_limit(app, "small", 1)
        one, two = bearer(await make_token("small")), bearer(await make_token("small"))

        assert (await client.get("/api/v1/agents", headers=one)).status_code == 200
        assert (await client.get("/api/v1/agents", headers=one)).status_code == 429
        assert (await client.get("/api/v1/agents", headers=two)).status_code == 200

    async def test_health_and_readiness_are_exempt(
        self, app: Any, client: httpx.AsyncClient
    ) -> None:
        answers = [await client.get(p) for p in ("/health", "/readyz", "/livez") * 5]

        assert {r.status_code for r in answers} == {200}
        assert all("X-RateLimit-Limit" not in r.headers for r in answers)


class TestEnvironmentsCli:
    def test_create_and_update_set_the_limit(self, cuecard: Any) -> None:
        cuecard("environments", "create", "limited", "--rate-limit", "50")
        rows = {line.split("\t")[1]: line.split("\t") for line in
                cuecard("environments", "list").stdout.splitlines()}  # fmt: skip
        assert rows["limited"][3] == "50"

        cuecard("environments", "update", "limited", "--rate-limit", "7")
        rows = {line.split("\t")[1]: line.split("\t") for line in
                cuecard("environments", "list").stdout.splitlines()}  # fmt: skip
        assert rows["limited"][3] == "7"

        cuecard("environments", "update", "limited", "--default-rate-limit")
        rows = {line.split("\t")[1]: line.split("\t") for line in
                cuecard("environments", "list").stdout.splitlines()}  # fmt: skip
        assert rows["limited"][3] == ""

    def test_a_limit_out_of_range_is_refused(self, cuecard: Any) -> None:
        result = cuecard("environments", "create", "bad", "--rate-limit", "0", check=False)

        assert result.exit_code == 1
        assert "rate limit must be 1 to 1,000,000" in result.stderr


async def burst(base: str, headers: dict[str, str], count: int) -> list[int]:
    """`count` requests, each on a new connection, so the kernel spreads them across workers."""

    async def one() -> int:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            return (await client.get("/api/v1/agents")).status_code

    return list(await asyncio.gather(*[one() for _ in range(count)]))


def _aligned() -> None:
    """Start a burst early in a window, so it is not split across two minutes."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


class TestAcrossProcesses:
    async def test_the_limit_holds_across_two_worker_processes(
        self, database_url: str, backend: str, tmp_path: Path, app: Any
    ) -> None:
        await set_limit(app, "shared", 10)
        token = await make_token_in(database_url, "shared")
        with serve(database_url, tmp_path, workers=2,
                   env={"CUECARD_RATE_LIMIT_DIR": str(tmp_path / "rl")}) as server:  # fmt: skip
            _aligned()
            statuses = await burst(server.url, bearer(token), 30)

        assert statuses.count(200) == 10
        assert statuses.count(429) == 20

    async def test_with_redis_the_limit_holds_across_servers_on_different_machines(
        self, database_url: str, backend: str, tmp_path: Path, app: Any
    ) -> None:
        await set_limit(app, "shared", 10)
        token = await make_token_in(database_url, "shared")
        # Different CUECARD_RATE_LIMIT_DIR: as if each server were on a machine of its own.
        with (
            private_redis(tmp_path) as redis_url,
            serve(database_url, tmp_path, env={"CUECARD_REDIS_URL": redis_url,
                  "CUECARD_RATE_LIMIT_DIR": str(tmp_path / "a")}) as one,
            serve(database_url, tmp_path, env={"CUECARD_REDIS_URL": redis_url,
                  "CUECARD_RATE_LIMIT_DIR": str(tmp_path / "b")}) as two,
        ):  # fmt: skip
            _aligned()
            statuses = await burst(one.url, bearer(token), 8)
            statuses += await burst(two.url, bearer(token), 8)

        assert statuses.count(200) == 10
        assert statuses.count(429) == 6

    async def test_without_redis_separate_machines_count_separately(
        self, database_url: str, backend: str, tmp_path: Path, app: Any
    ) -> None:
        """The control for the test above: it is Redis that makes the limit shared."""
        await set_limit(app, "shared", 10)
        token = await make_token_in(database_url, "shared")
        with serve(database_url, tmp_path, env={"CUECARD_RATE_LIMIT_DIR": str(tmp_path / "a")}
                   ) as one, serve(database_url, tmp_path,
                   env={"CUECARD_RATE_LIMIT_DIR": str(tmp_path / "b")}) as two:  # fmt: skip
            _aligned()
            statuses = await burst(one.url, bearer(token), 8) + await burst(
                two.url, bearer(token), 8
            )

        assert statuses.count(200) == 16


@pytest.fixture
def cuecard(settings: Any) -> Any:
    from typer.testing import CliRunner

    from cuecard.cli import app as cli_app

    runner = CliRunner()

    def run(*args: str, check: bool = True) -> Any:
        env = {"CUECARD_DATABASE_URL": settings.database_url, "CUECARD_SECRET_KEY": "x" * 32}
        result = runner.invoke(cli_app, list(args), env=env)
        if check:
            assert result.exit_code == 0, result.output
        return result

    return run


class TestRedisDown:
    async def test_with_redis_unreachable_the_machine_counts_on_its_own(
        self, settings: Any, tmp_path: Path
    ) -> None:
        from dataclasses import replace

        from cuecard.app import create_app
        from tests.conftest import free_port

        unreachable = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                              rate_limit_dir=str(tmp_path))  # fmt: skip
        app = create_app(unreachable)
        async with app.router.lifespan_context(app):
            await set_limit(app, "small", 2)
            async with app.state.db.transaction() as uow:
                _, token = await auth.create_token(
                    uow, settings.resolved_secret_key(), "talq_", "small"
                )
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answers = [
                    await client.get("/api/v1/agents", headers=bearer(token)) for _ in range(3)
                ]

        assert [r.status_code for r in answers] == [200, 200, 429]
