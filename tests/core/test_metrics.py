"""GET /metrics as Prometheus scrapes it, from real `cuecard serve` processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from cuecard.app import create_app
from cuecard.core.config import Settings
from tests.conftest import TokenFactory, bearer, free_port
from tests.core.serving import cuecard_serve, json_lines
from tests.runtime.helpers import add_training

METRICS_TOKEN = "metrics-token-0123456789"
TOKEN_MODE = {"CUECARD_METRICS": "token", "CUECARD_METRICS_TOKEN": METRICS_TOKEN}


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def requests_counted(text: str, route: str, status: str = "200") -> float:
    labels = frozenset({("method", "GET"), ("route", route), ("status", status)})
    return samples(text).get(("cuecard_http_requests_total", labels), 0.0)


class TestScrapeAcrossWorkers:
    async def test_a_scrape_counts_the_requests_of_both_workers(
        self, database_url: str, make_token: TokenFactory, app: Any, tmp_path: Path
    ) -> None:
        headers = bearer(await make_token())
        log_file = tmp_path / "serve.log"
        sent = 60
        with cuecard_serve(database_url, log_file, workers=2, env=TOKEN_MODE) as base:
            # A new connection each time: the kernel spreads connections over the workers.
            async def one() -> int:
                async with httpx.AsyncClient(base_url=base) as c:
                    return (await c.get("/api/v1/agents", headers=headers)).status_code

            statuses = await asyncio.gather(*[one() for _ in range(sent)])
            scrapes = [
                httpx.get(f"{base}/metrics", headers=bearer(METRICS_TOKEN)) for _ in range(6)
            ]

        assert statuses == [200] * sent
        served_by = {
            line["pid"]
            for line in json_lines(log_file)
            if line["logger"] == "cuecard.access" and line["route"] == "/api/v1/agents"
        }
        assert len(served_by) == 2, "both workers must have served some of the requests"
        # Whichever worker answers a scrape, it counts every worker's requests.
        assert {requests_counted(s.text, "/api/v1/agents") for s in scrapes} == {sent}
        assert all(s.headers["content-type"].startswith("text/plain") for s in scrapes)
        text = scrapes[-1].text
        assert "cuecard_http_request_duration_seconds_bucket" in text
        assert "cuecard_http_requests_in_flight" in text
        assert 'cuecard_db_query_duration_seconds_count{operation="read"}' in text

    def test_metrics_on_their_own_port_and_not_on_the_api(
        self, database_url: str, tmp_path: Path
    ) -> None:
        port = free_port()
        env = {"CUECARD_METRICS": "port", "CUECARD_METRICS_PORT": str(port)}
        with cuecard_serve(database_url, tmp_path / "serve.log", workers=2, env=env) as base:
            httpx.get(f"{base}/health")
            on_api = httpx.get(f"{base}/metrics")
            scrape = httpx.get(f"http://127.0.0.1:{port}/metrics")

        assert on_api.status_code == 404
        assert scrape.status_code == 200
        assert requests_counted(scrape.text, "/health") >= 1


@pytest.fixture
async def metered(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(
        Settings(**{**settings.__dict__, "metrics": "token", "metrics_token": METRICS_TOKEN})
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            yield c


class TestProtection:
    async def test_metrics_are_off_by_default(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/metrics")).status_code == 404

    async def test_token_mode_refuses_a_missing_or_wrong_token(
        self, metered: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        missing = await metered.get("/metrics")
        api_token = await metered.get("/metrics", headers=headers)
        right = await metered.get("/metrics", headers=bearer(METRICS_TOKEN))

        assert (missing.status_code, api_token.status_code, right.status_code) == (401, 401, 200)
        assert missing.json()["code"] == "INVALID_TOKEN"
        assert "cuecard_http_requests_total" in right.text

    async def test_with_metrics_off_requests_are_not_recorded(
        self, client: httpx.AsyncClient, metered: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        def counted() -> float:
            return value("cuecard_http_requests_total", method="GET", route="/api/v1/agents",
                         status="200")  # fmt: skip

        def db_reads() -> float:
            return value("cuecard_db_query_duration_seconds_count", operation="read")

        before = counted(), db_reads()
        assert (await client.get("/api/v1/agents", headers=headers)).status_code == 200
        after_off = counted(), db_reads()
        assert (await metered.get("/api/v1/agents", headers=headers)).status_code == 200
        after_on = counted(), db_reads()

        assert after_off == before
        assert after_on[0] == before[0] + 1
        assert after_on[1] > before[1]

    def test_serve_keeps_a_samples_folder_only_when_metrics_are_on(
        self, database_url: str, tmp_path: Path
    ) -> None:
        def folders_while_serving(env: dict[str, str], name: str) -> list[str]:
            temp = tmp_path / name
            temp.mkdir()
            with cuecard_serve(
                database_url, tmp_path / f"{name}.log", env={**env, "TMPDIR": str(temp)}
            ):
                return sorted(p.name for p in temp.glob("cuecard-metrics-*"))

        assert folders_while_serving({"CUECARD_METRICS": "off"}, "off") == []
        assert len(folders_while_serving(TOKEN_MODE, "on")) == 1

    def test_token_mode_needs_a_token(self) -> None:
        from cuecard.core.config import ConfigError

        with pytest.raises(ConfigError, match="CUECARD_METRICS_TOKEN"):
            Settings.from_env({"CUECARD_METRICS": "token"})


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class TestRuntimeMetrics:
    async def test_retrieve_counts_cache_misses_then_hits_and_times_retrieval(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Refunds", instructions="30 d.")
        before = (
            value("cuecard_compiled_config_cache_total", result="hit"),
            value("cuecard_compiled_config_cache_total", result="miss"),
            value("cuecard_retrieval_duration_seconds_count"),
        )
        body = {"messages": [{"role": "user", "content": "refund"}], "version": "draft"}
        url = f"/api/v1/agents/{agent['id']}/runtime/retrieve"
        for _ in range(3):
            assert (await client.post(url, json=body, headers=headers)).status_code == 200

        hits = value("cuecard_compiled_config_cache_total", result="hit") - before[0]
        misses = value("cuecard_compiled_config_cache_total", result="miss") - before[1]
        assert (misses, hits) == (1, 2)
        assert value("cuecard_retrieval_duration_seconds_count") - before[2] == 3

    async def test_writes_are_timed_per_database_call(
        self, metered: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        await metered.get("/api/v1/agents", headers=headers)  # the token's first use is a write
        before = value("cuecard_db_query_duration_seconds_count", operation="commit")

        await metered.post("/api/v1/agents", json={"name": "A"}, headers=headers)
        await metered.get("/api/v1/agents", headers=headers)  # a read commits nothing

        after = value("cuecard_db_query_duration_seconds_count", operation="commit")
        assert after - before == 1


class TestInFlight:
    async def test_a_request_waiting_on_the_llm_is_in_flight_until_it_ends(
        self, database_url: str, make_token: TokenFactory, tmp_path: Path
    ) -> None:
        from tests.runtime.fake_llm import running_fake_llm

        headers = bearer(await make_token())
        with running_fake_llm() as fake:
            fake.mode, fake.delay_seconds = "slow", 1.5
            env = {**TOKEN_MODE, "CUECARD_LLM_BASE_URL": fake.url, "CUECARD_LLM_MODEL": "m"}
            with cuecard_serve(database_url, tmp_path / "serve.log", env=env) as base:
                async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
                    agent = (await c.post("/api/v1/agents", json={"name": "A"})).json()["data"]
                    slow = asyncio.create_task(
                        c.post(
                            f"/api/v1/agents/{agent['id']}/test-conversations",
                            json={"messages": [{"role": "user", "content": "Hi"}]},
                        )
                    )
                    while not fake.received:
                        await asyncio.sleep(0.02)
                    during = httpx.get(f"{base}/metrics", headers=bearer(METRICS_TOKEN))
                    assert (await slow).status_code == 200
                    after = httpx.get(f"{base}/metrics", headers=bearer(METRICS_TOKEN))

        def in_flight(text: str) -> float:
            return samples(text)[("cuecard_http_requests_in_flight", frozenset())]

        assert in_flight(during.text) == 2  # the conversation and this scrape
        assert in_flight(after.text) == 1  # only the scrape
