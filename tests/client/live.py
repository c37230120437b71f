"""A real server in a thread, for the client and CLI tests.

It is the app `cuecard serve` runs (create_app on the test's settings) behind uvicorn on a free
loopback port, so the blocking client and the CLI talk to it over real HTTP. It records every
request it receives: the sync tests count the writes that reach the server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from cuecard.app import create_app
from cuecard.core.config import Settings


@dataclass
class Recorder:
    """ASGI wrapper that notes (method, path) of every HTTP request before serving it."""

    app: Any
    requests: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] not in ("GET", "HEAD")]


@dataclass
class LiveServer:
    url: str
    recorder: Recorder


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    recorder = Recorder(create_app(settings))
    # Bind first and hand uvicorn the socket: no window for another process to take the port.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(recorder, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        yield LiveServer(f"http://127.0.0.1:{port}", recorder)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
