"""examples/pipecat_call_reporter.py inside a real pipecat pipeline, reporting to the real app.

The pipeline has no speech or LLM services (none can run here): a small processor stands in for
them and answers each transcription with an LLM response, which is exactly the frames an STT and
an LLM service would push."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

pipecat = pytest.importorskip("pipecat")

from pipecat.frames.frames import (  # noqa: E402
    EndFrame,
    Frame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMTextFrame,
    TranscriptionFrame,
)
from pipecat.pipeline.pipeline import Pipeline  # noqa: E402
from pipecat.pipeline.worker import PipelineWorker  # noqa: E402
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor  # noqa: E402
from pipecat.workers.runner import WorkerRunner  # noqa: E402


class ScriptedBot(FrameProcessor):
    """Answers every transcription like an LLM service: start, text chunks, end."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        await self.push_frame(frame, direction)
        if isinstance(frame, TranscriptionFrame):
            await self.push_frame(LLMFullResponseStartFrame())
            for chunk in ("Refunds are ", "possible within 30 days."):
                await self.push_frame(LLMTextFrame(chunk))
            await self.push_frame(LLMFullResponseEndFrame())


async def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


@pytest.fixture
def reporter_module(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    path = repo_root / "examples" / "pipecat_call_reporter.py"
    spec = importlib.util.spec_from_file_location("pipecat_call_reporter", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


class TestPipecatCallReporter:
    async def test_a_pipeline_reports_its_call_turns_and_close(
        self,
        app: Any,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: dict[str, Any],
        runtime_headers: dict[str, str],
        reporter_module: ModuleType,
    ) -> None:
        training = (
            await client.post(
                f"/api/v1/agents/{agent['id']}/trainings",
                headers=headers,
                json={"node_id": "refunds", "subject": "Refunds", "instructions": "30 days."},
            )
        ).json()["data"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://cuecard", headers=runtime_headers
        ) as http:
            reporter = reporter_module.CuecardCallReporter(
                http,
                agent["id"],
                call_key="room-42",
                sid="room-42",
                from_number="+15551230000",
                inline_training_ids=[training["id"]],
                node_id="refunds",
            )
            call_id = await reporter.open()
            reporter.retrieved([training["id"]])
            worker = PipelineWorker(
                Pipeline([ScriptedBot()]),
                observers=[reporter],
                idle_timeout_secs=None,
                enable_rtvi=False,
            )
            runner = WorkerRunner(handle_sigint=False)
            await runner.add_workers(worker)
            running = asyncio.create_task(runner.run())
            # The caller speaks, waits for the answer, speaks again; then the call ends.
            for n, words in enumerate(["Can I get a refund?", "Great, thanks."], 1):
                await worker.queue_frame(TranscriptionFrame(words, "caller", "2026-12-01T10:00Z"))
                await wait_for(lambda n=n: reporter.turns_reported == n)
            await worker.queue_frame(EndFrame())
            await asyncio.wait_for(running, 20)
            await reporter.flush()

        detail = (
            await client.get(f"/api/v1/agents/{agent['id']}/calls/{call_id}", headers=headers)
        ).json()["data"]
        assert detail["status"] == "completed" and detail["sid"] == "room-42"
        assert [t["user_text"] for t in detail["turns"]] == [
            "Can I get a refund?",
            "Great, thanks.",
        ]
        assert {t["reply_text"] for t in detail["turns"]} == {
            "Refunds are possible within 30 days."
        }
        first, second = detail["turns"]
        assert {(u["id"], u["source"]) for u in first["trainings"]} == {
            (training["id"], "inline"),
            (training["id"], "retrieved"),
        }
        assert [u["source"] for u in second["trainings"]] == ["inline"]
        assert first["node_id"] == "refunds" and first["latency_ms"] is not None
