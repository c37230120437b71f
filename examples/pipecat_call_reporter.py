"""Report a pipecat bot's calls to Cuecard: an observer, added to the pipeline's worker.

    reporter = CuecardCallReporter(http, agent_id, call_key=room_sid, version=config.version,
                                   config_hash=config.config_hash,
                                   inline_training_ids=config.inline_training_ids,
                                   sid=room_sid, from_number=caller, to_number=callee)
    await reporter.open()
    worker = PipelineWorker(pipeline, observers=[reporter])
    ...                       # after each retrieve call: reporter.retrieved(ids)
    await runner.run()        # EndFrame/CancelFrame close the call
    await reporter.flush()

`http` is an `httpx.AsyncClient` with `base_url` set to the Cuecard server and the header
`Authorization: Bearer <a runtime token>` (`cuecard tokens create --environment E --runtime`).

What it sends (docs/webhooks.md, "Runtime reporting"): one `open`, a `turn` for every exchange
(the caller's transcription, the bot's reply, the node, the trainings inline and those retrieved
for that turn, the latency from the end of the caller's words to the end of the reply), and one
`close` when the pipeline ends. Every report carries an id derived from `call_key`, so a report
sent again (after a timeout, or by a restarted bot) is stored once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
)
from pipecat.observers.base_observer import BaseObserver, FramePushed


class CuecardCallReporter(BaseObserver):
    def __init__(
        self,
        http: httpx.AsyncClient,
        agent_id: str,
        *,
        call_key: str,
        version: int | None = None,
        config_hash: str | None = None,
        inline_training_ids: Sequence[str] = (),
        sid: str | None = None,
        from_number: str | None = None,
        to_number: str | None = None,
        direction: str | None = None,
        node_id: str | None = None,
    ) -> None:
        super().__init__()
        self._http = http
        self._base = f"/api/v1/agents/{agent_id}/runtime/calls"
        self._key = call_key
        self._open_body: dict[str, Any] = {
            "event_id": f"{call_key}:open",
            "sid": sid,
            "from": from_number,
            "to": to_number,
            "direction": direction,
            "version": version,
            "config_hash": config_hash,
        }
        self.inline_training_ids = list(inline_training_ids)
        self.node_id = node_id
        self.call_id: str | None = None
        self._seen: set[int] = set()
        self._user: list[str] = []
        self._reply: list[str] = []
        self._retrieved: list[str] = []
        self._heard_at: float | None = None
        self._started_at = time.monotonic()
        self._turns = 0
        self.turns_reported = 0
        self._closed = False
        self._pending: set[asyncio.Task[None]] = set()

    async def open(self) -> str:
        body = {k: v for k, v in self._open_body.items() if v is not None}
        data = await self._post("", body)
        self.call_id = str(data["id"])
        return self.call_id

    def retrieved(self, training_ids: Sequence[str]) -> None:
        """The trainings a retrieve call returned for the turn being answered."""
        self._retrieved = list(training_ids)

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if frame.id in self._seen:  # a frame is pushed again by every processor it passes
            return
        self._seen.add(frame.id)
        if isinstance(frame, TranscriptionFrame):
            self._user.append(frame.text)
            self._heard_at = time.monotonic()
        elif isinstance(frame, LLMFullResponseStartFrame):
            self._reply = []
        elif isinstance(frame, LLMTextFrame):
            self._reply.append(frame.text)
        elif isinstance(frame, LLMFullResponseEndFrame):
            self._send(self._turn())
        elif isinstance(frame, EndFrame | CancelFrame):
            self._send(self.close("completed" if isinstance(frame, EndFrame) else "failed"))

    async def _turn(self) -> None:
        self._turns += 1
        latency = None
        if self._heard_at is not None:
            latency = int((time.monotonic() - self._heard_at) * 1000)
        turn = {
            "event_id": f"{self._key}:turn:{self._turns}",
            "user_text": " ".join(self._user) or None,
            "reply_text": "".join(self._reply) or None,
            "node_id": self.node_id,
            "inline_training_ids": self.inline_training_ids,
            "retrieved_training_ids": self._retrieved,
            "latency_ms": latency,
        }
        self._user, self._reply, self._retrieved, self._heard_at = [], [], [], None
        await self._post(f"/{self.call_id}/turns", {"turns": [turn]})
        self.turns_reported += 1

    async def close(self, status: str = "completed") -> None:
        if self._closed or self.call_id is None:
            return
        self._closed = True
        await self.flush(but=asyncio.current_task())
        duration = int(time.monotonic() - self._started_at)
        await self._post(
            f"/{self.call_id}/close",
            {"event_id": f"{self._key}:close", "status": status, "duration": duration},
        )

    async def flush(self, but: asyncio.Task[Any] | None = None) -> None:
        """Wait for every report sent so far."""
        pending = [task for task in self._pending if task is not but]
        if pending:
            await asyncio.gather(*pending)

    def _send(self, report: Any) -> None:
        # Reports go out beside the pipeline, never in its way.
        task = asyncio.get_running_loop().create_task(report)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # Every report is idempotent, so a failed attempt is simply sent again.
        for attempt in range(3):
            try:
                response = await self._http.post(self._base + path, json=body)
                if response.status_code < 500:
                    response.raise_for_status()
                    data: dict[str, Any] = response.json()["data"]
                    return data
            except httpx.TransportError:
                if attempt == 2:
                    raise
            await asyncio.sleep(0.2 * 2**attempt)
        response.raise_for_status()
        raise RuntimeError("unreachable")
