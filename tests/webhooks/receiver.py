"""A real HTTP receiver on 127.0.0.1 for webhook tests: records every request it gets.

`status` decides each response (a number, or a function of the request count); `delay` makes it
slow; `stop()` and `start()` take it down and bring it back on the same port.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.conftest import free_port


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    status: int | Callable[[int], int] = 200
    delay: float = 0.0
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender died mid-request (a test kills servers with SIGKILL): that was
                    # never a delivery, as no receiver would take half a body for one.
                    self.close_connection = True
                    return
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            self.command, self.path, dict(self.headers.items()), body, time.time()
                        )
                    )
                    count = len(receiver.requests)
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status(count) if callable(receiver.status) else receiver.status
                reply = json.dumps({"received": True}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_PUT = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self) -> list[str]:
        return [r.json.get("event") for r in self.requests]

    def event_ids(self) -> list[str]:
        return [r.json.get("event_id") for r in self.requests]

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.requests


def verify_signature(secret: str, header: str, body: bytes, tolerance: float = 300) -> bool:
    """What a receiver does (the snippet in docs/webhooks.md)."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])
