from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from cuecard.cli import app as cli_app
from cuecard.core.config import Settings
from tests.client.live import LiveServer, live_server

Cuecard = Callable[..., Result]


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as running:
        yield running


@pytest.fixture
def remote(server: LiveServer, token: str) -> Cuecard:
    """Run a client command against the live server, as `cuecard ...` with CUECARD_URL/TOKEN."""
    return runner_for(server.url, token)


def runner_for(url: str, token: str) -> Cuecard:
    runner = CliRunner()

    def run(*args: str, env: dict[str, Any] | None = None, input: str | None = None) -> Result:
        environ = {"CUECARD_URL": url, "CUECARD_TOKEN": token, **(env or {})}
        # The CLI runs its own event loop, so give it a thread when a test's loop is running.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(
                runner.invoke, cli_app, list(args), env=environ, input=input
            ).result()

    return run
