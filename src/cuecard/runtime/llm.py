"""A minimal client for an OpenAI-compatible `POST {base_url}/chat/completions`.

`base_url` follows the OpenAI SDK's convention and ends with the API version, e.g.
`https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama), `http://localhost:8000/v1`
(vLLM, llama.cpp server). One non-streaming request with a total deadline; nothing is retried, since
a test conversation is interactive and a retry would double the wait.

Exceptions (all `LlmError`):
- `LlmTimeout`: no complete answer within the deadline.
- `LlmUnreachable`: the connection failed (refused, DNS, TLS).
- `LlmBadResponse`: an HTTP error status, or a body that is not a chat completion.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from cuecard import __version__

log = logging.getLogger("cuecard.llm")

_DETAIL_CHARS = 300


class LlmError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class LlmTimeout(LlmError):
    pass


class LlmUnreachable(LlmError):
    pass


class LlmBadResponse(LlmError):
    pass


@dataclass(frozen=True, slots=True)
class ChatReply:
    content: str
    model: str | None
    finish_reason: str | None
    usage: dict[str, Any] | None
    latency_ms: float


def _endpoint(base_url: str) -> str:
    return base_url.rstrip("/") + "/chat/completions"


def _upstream_detail(response: httpx.Response) -> str:
    """The error message an OpenAI-compatible server put in its body, shortened."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:_DETAIL_CHARS]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:_DETAIL_CHARS]
    if isinstance(error, str):
        return error[:_DETAIL_CHARS]
    return response.text[:_DETAIL_CHARS]


def _parse(body: Any, latency_ms: float) -> ChatReply:
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LlmBadResponse(
            "The LLM answered with something that is not a chat completion."
        ) from None
    if not isinstance(content, str):
        raise LlmBadResponse("The LLM answered without text (content was empty or not a string).")
    usage = body.get("usage")
    return ChatReply(
        content=content,
        model=body.get("model") if isinstance(body.get("model"), str) else None,
        finish_reason=choice.get("finish_reason"),
        usage=usage if isinstance(usage, dict) else None,
        latency_ms=latency_ms,
    )


async def chat_completion(
    *,
    base_url: str,
    api_key: str | None,
    model: str,
    messages: list[dict[str, str]],
    temperature: float | None,
    timeout_seconds: float,
) -> ChatReply:
    payload: dict[str, Any] = {"model": model, "messages": messages}
    if temperature is not None:
        payload["temperature"] = temperature
    headers = {"User-Agent": f"cuecard/{__version__}"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    started = time.perf_counter()
    try:
        # httpx's timeout is per phase (connect, each read); asyncio.timeout bounds the total.
        async with (
            asyncio.timeout(timeout_seconds),
            httpx.AsyncClient(timeout=timeout_seconds) as client,
        ):
            response = await client.post(_endpoint(base_url), json=payload, headers=headers)
    except (TimeoutError, httpx.TimeoutException):
        raise LlmTimeout(f"The LLM did not answer within {timeout_seconds:g} seconds.") from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL):
        raise LlmUnreachable(
            f"The LLM base URL {base_url!r} is not an http:// or https:// URL."
        ) from None
    except httpx.HTTPError as exc:
        raise LlmUnreachable(f"The LLM could not be reached ({type(exc).__name__}).") from None
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    log.info(
        "LLM %s answered HTTP %d in %.0f ms",
        model,
        response.status_code,
        latency_ms,
        extra={"llm_model": model, "llm_status": response.status_code, "latency_ms": latency_ms},
    )
    if response.status_code >= 400:
        raise LlmBadResponse(
            f"The LLM answered HTTP {response.status_code}: {_upstream_detail(response)}",
            status_code=response.status_code,
        )
    try:
        body = response.json()
    except ValueError:
        raise LlmBadResponse("The LLM answered with a body that is not JSON.") from None
    return _parse(body, latency_ms)
