"""Webhook tests deliver to real receivers on 127.0.0.1, so private targets are allowed here
(one test class proves they are refused by default). The in-process worker is off: tests run the
worker themselves to decide when deliveries happen; the server tests run it inside `cuecard serve`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from cuecard.core.config import Settings
from cuecard.webhooks.delivery import DeliveryWorker
from tests.conftest import SECRET
from tests.webhooks.receiver import Receiver


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env="test",
        secret_key=SECRET,
        allow_private_targets=True,
        webhook_worker=False,
        webhook_retry_base_seconds=0.2,
        webhook_retry_max_seconds=5,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
async def worker(app: Any, settings: Settings) -> Any:
    w = DeliveryWorker(app.state.db, settings, settings.resolved_secret_key())
    yield w
    await w.close()


@pytest.fixture
def create_webhook(
    client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def create(url: str, **fields: Any) -> dict[str, Any]:
        body = {"name": "Hook", "webhook_url": url, "events": ["event_training_updated"], **fields}
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/webhooks", json=body, headers=headers
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    return create
