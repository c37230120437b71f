"""A real HTTP receiver on 127.0.0.1 for the actions' webhooks, and an app that may call it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from cuecard.app import create_app
from cuecard.auth import service as auth
from cuecard.core.config import Settings


@dataclass
class Receiver:
    """Records every request; answers what `reply` says (status, body, delay)."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    body: bytes = b'{"confirmed": true, "slot": {"date": "2025-03-01", "time": "10:00"}}'
    content_type: str = "application/json"
    delay: float = 0.0
    content_encoding: str | None = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            state.requests.append(
                {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "json": json.loads(raw or b"null"),
                }
            )
            time.sleep(state.delay)
            try:
                self.send_response(state.status)
                self.send_header("content-type", state.content_type)
                self.send_header("content-length", str(len(state.body)))
                if state.content_encoding:
                    self.send_header("content-encoding", state.content_encoding)
                self.end_headers()
                self.wfile.write(state.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # Cuecard hung up on purpose (timeout, size limit)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/schedule"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
async def open_client(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A client of an app with CUECARD_ALLOW_PRIVATE_TARGETS=true (and a 1 s action timeout,
    a 2 KiB response limit), with a writer token's headers."""
    opened = Settings(
        **{
            **settings.__dict__,
            "allow_private_targets": True,
            "action_timeout_seconds": 1.0,
            "action_max_response_bytes": 2048,
        }
    )
    app = create_app(opened)
    async with app.router.lifespan_context(app):
        async with app.state.db.transaction() as uow:
            await auth.ensure_environment(uow, "default")
            _, token = await auth.create_token(
                uow, opened.resolved_secret_key(), "talq_", "default"
            )
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, {"Authorization": f"Bearer {token}"}
