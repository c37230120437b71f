"""A scripted, streaming OpenAI-compatible LLM on 127.0.0.1, for the real-runtime tests.

No real model can run here, and pipecat's and LiveKit's OpenAI services speak the streaming
`POST /v1/chat/completions` protocol, so this server does too. Each request it receives is
recorded exactly as sent (messages and tools); the test scripts the reply: a sentence, or a call
of one of the tools the request offered (a pipecat-flows transition). Everything else in these
tests is real: pipecat's FlowManager, a `cuecard serve` process, HTTP on loopback.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Call:
    function: str
    arguments: dict[str, Any] = field(default_factory=dict)


Step = Say | Call


@dataclass
class Request:
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body["messages"]
        return messages

    @property
    def system(self) -> str:
        """Every system or developer message, for `in` checks of what the model was told."""
        return "\n".join(
            str(m.get("content")) for m in self.messages if m["role"] in ("system", "developer")
        )

    @property
    def text(self) -> str:
        return "\n".join(str(m.get("content")) for m in self.messages)

    @property
    def tools(self) -> list[str]:
        return [t["function"]["name"] for t in self.body.get("tools") or []]


@dataclass
class ScriptedLlm:
    url: str = ""
    # Decides each reply from the request: the test's script.
    reply: Callable[[Request], Step] = lambda request: Say("OK.")
    received: list[Request] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _chunks(step: Step, model: str, n: int) -> list[dict[str, Any]]:
    base = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "model": model}
    if isinstance(step, Say):
        delta: dict[str, Any] = {"role": "assistant", "content": step.text}
        finish = "stop"
    else:
        call = {"index": 0, "id": f"call_{n}", "type": "function",
                "function": {"name": step.function,
                             "arguments": json.dumps(step.arguments)}}  # fmt: skip
        delta = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    return [
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 2,
                                          "total_tokens": 12}},
    ]  # fmt: skip


def _handler(llm: ScriptedLlm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            request = Request(body)
            llm.received.append(request)
            try:
                step = llm.reply(request)
            except Exception as exc:  # the script's assertion: report it, answer politely
                llm.errors.append(repr(exc))
                step = Say("(script error)")
            n = len(llm.received)
            if body.get("stream"):
                payload = (
                    b"".join(
                        b"data: " + json.dumps(chunk).encode() + b"\n\n"
                        for chunk in _chunks(step, body.get("model", "fake"), n)
                    )
                    + b"data: [DONE]\n\n"
                )
                content_type = "text/event-stream"
            else:
                payload = json.dumps(_completion(step, body.get("model", "fake"), n)).encode()
                content_type = "application/json"
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

    return Handler


def _completion(step: Step, model: str, n: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if isinstance(step, Say):
        message["content"] = step.text
    else:
        function = {"name": step.function, "arguments": json.dumps(step.arguments)}
        message["tool_calls"] = [{"id": f"call_{n}", "type": "function", "function": function}]
    return {
        "id": f"chatcmpl-{n}", "object": "chat.completion", "model": model,
        "choices": [{"index": 0, "message": message,
                     "finish_reason": "stop" if isinstance(step, Say) else "tool_calls"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }  # fmt: skip


@contextmanager
def running_scripted_llm() -> Iterator[ScriptedLlm]:
    llm = ScriptedLlm()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(llm))
    server.daemon_threads = True
    llm.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield llm
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
