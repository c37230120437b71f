from __future__ import annotations

from collections.abc import Iterator

import pytest

from cuecard.core.config import Settings
from tests.client.live import LiveServer, live_server


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    with live_server(settings) as running:
        yield running
