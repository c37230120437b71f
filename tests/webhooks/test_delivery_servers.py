"""Delivery across real `cuecard serve` processes: SIGKILL with deliveries pending loses none,
and servers sharing one database deliver each event once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx

from tests.conftest import TokenFactory, bearer
from tests.test_server import kill_hard, serve
from tests.webhooks.receiver import Receiver

ENV = {
    "CUECARD_ALLOW_PRIVATE_TARGETS": "true",
    "CUECARD_WEBHOOK_POLL_SECONDS": "0.05",
    "CUECARD_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "CUECARD_WEBHOOK_RETRY_MAX_SECONDS": "2",
}


async def setup_hook(client: httpx.AsyncClient, receiver: Receiver) -> str:
    agent = (await client.post("/api/v1/agents", json={"name": "Deliveries"})).json()["data"]
    hook = await client.post(
        f"/api/v1/agents/{agent['id']}/webhooks",
        json={
            "name": "all",
            "webhook_url": receiver.url,
            "events": ["event_training_updated"],
            "timeout": 5,
            "max_retries": 10,
        },
    )
    assert hook.status_code == 200, hook.text
    return str(agent["id"])


async def event_ids(app: Any) -> set[str]:
    async with app.state.db.transaction() as uow:
        rows = await uow.all("SELECT DISTINCT event_id FROM webhook_logs")
    return {row["event_id"] for row in rows}


async def successes(app: Any) -> set[str]:
    async with app.state.db.transaction() as uow:
        rows = await uow.all("SELECT event_id FROM webhook_logs WHERE status = 'success'")
    return {row["event_id"] for row in rows}


async def wait_until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


class TestKillNine:
    async def test_sigkill_with_pending_deliveries_loses_none(
        self, database_url: str, make_token: TokenFactory, app: Any
    ) -> None:
        headers = bearer(await make_token())
        receiver = Receiver(delay=1.0).start()  # slow: deliveries are in flight at the kill
        try:
            with serve(database_url, workers=2, extra_env=ENV) as base:
                async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
                    agent_id = await setup_hook(c, receiver)
                    for i in range(20):
                        r = await c.post(
                            f"/api/v1/agents/{agent_id}/trainings",
                            json={"node_id": f"n{i}", "subject": "s", "instructions": "i"},
                        )
                        assert r.status_code == 200
                receiver.wait_for(1)
                kill_hard(base)
            committed = await event_ids(app)
            assert len(committed) == 20
            assert len(await successes(app)) < 20, "everything was delivered before the kill"

            receiver.delay = 0
            with serve(database_url, workers=1, extra_env=ENV):
                await wait_until(lambda: _async(set(receiver.event_ids()) >= committed), 40)
                await wait_until(lambda: _equal(successes(app), committed), 20)
        finally:
            receiver.stop()

        counts = Counter(receiver.event_ids())
        assert set(counts) == committed
        assert max(counts.values()) <= 2  # at least once; a repeat only for in-flight ones


class TestServersShareTheQueue:
    async def test_two_servers_on_one_database_deliver_each_event_once(
        self, database_url: str, make_token: TokenFactory, app: Any
    ) -> None:
        headers = bearer(await make_token())
        receiver = Receiver().start()
        try:
            with (
                serve(database_url, workers=2, extra_env=ENV) as one,
                serve(database_url, workers=2, extra_env=ENV) as two,
            ):
                async with (
                    httpx.AsyncClient(base_url=one, headers=headers, timeout=30) as a,
                    httpx.AsyncClient(base_url=two, headers=headers, timeout=30) as b,
                ):
                    agent_id = await setup_hook(a, receiver)
                    responses = await asyncio.gather(
                        *[
                            (a if i % 2 else b).post(
                                f"/api/v1/agents/{agent_id}/trainings",
                                json={"node_id": f"n{i}", "subject": "s", "instructions": "i"},
                            )
                            for i in range(60)
                        ]
                    )
                    assert {r.status_code for r in responses} == {200}
                committed = await event_ids(app)
                await wait_until(lambda: _equal(successes(app), committed), 40)
                time.sleep(0.5)  # a duplicate would arrive now
        finally:
            receiver.stop()

        assert len(committed) == 60
        counts = Counter(receiver.event_ids())
        assert set(counts) == committed
        assert set(counts.values()) == {1}
        served = {r.headers["X-Cuecard-Delivery"] for r in receiver.requests}
        assert len(served) == 60


async def _async(value: bool) -> bool:
    return value


async def _equal(got: Any, expected: set[str]) -> bool:
    return bool(await got == expected)
