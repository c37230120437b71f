"""A stand-in for an OpenAI-compatible LLM server, on 127.0.0.1, for the test-conversation tests.

The LLM is the one external service Cuecard calls; these tests need to see exactly what it
receives, and no real model can run here. Everything else in the tests is the real app. The server
records every request and answers like `POST /v1/chat/completions`; `mode` makes it fail, hang or
talk nonsense instead.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        messages: list[dict[str, str]] = self.body["messages"]
        return messages

    @property
    def text(self) -> str:
        """Every message's content, for `in` checks."""
        return "\n".join(m["content"] for m in self.messages)


@dataclass
class FakeLlm:
    url: str = ""
    mode: str = "ok"  # ok | error | slow | not-json | no-choices
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    # How to answer a request (ok mode); default: "You said: <the last user message>".
    answer: Callable[[dict[str, Any]], str] | None = None

    @property
    def last(self) -> Received:
        return self.received[-1]


def _handler(fake: FakeLlm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = json.loads(raw)
            fake.received.append(Received(self.path, dict(self.headers.items()), body))
            if fake.mode == "slow":
                time.sleep(fake.delay_seconds)
            if fake.mode == "error":
                error = {"error": {"message": "The model is overloaded.", "type": "server_error"}}
                self._send(500, json.dumps(error).encode())
                return
            if fake.mode == "not-json":
                self._send(200, b"<html>gateway</html>")
                return
            if fake.mode == "no-choices":
                self._send(200, b'{"choices": []}')
                return
            last_user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
            reply = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": fake.answer(body)
                            if fake.answer
                            else f"You said: {last_user}",
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
            }
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(200, json.dumps(reply).encode())  # unless the client gave up

    return Handler


@contextmanager
def running_fake_llm() -> Iterator[FakeLlm]:
    fake = FakeLlm()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
