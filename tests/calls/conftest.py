from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cuecard.auth import service as auth
from cuecard.core.config import Settings
from tests.conftest import SECRET, bearer


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Call events are delivered to receivers on 127.0.0.1 in some tests; the worker is run by hand.
    return Settings(
        database_url=database_url,
        env="test",
        secret_key=SECRET,
        allow_private_targets=True,
        webhook_worker=False,
    )


@pytest.fixture
def make_runtime_token(app: Any, settings: Settings) -> Callable[..., Awaitable[dict[str, str]]]:
    async def make(environment: str = "default") -> dict[str, str]:
        async with app.state.db.transaction() as uow:
            await auth.ensure_environment(uow, environment)
            _, secret = await auth.create_token(
                uow,
                settings.resolved_secret_key(),
                settings.token_prefix,
                environment,
                label="pipecat bot",
                runtime=True,
            )
        return bearer(secret)

    return make


@pytest.fixture
async def runtime_headers(make_runtime_token: Any) -> dict[str, str]:
    headers: dict[str, str] = await make_runtime_token()
    return headers
