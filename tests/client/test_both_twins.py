"""Agents.update, Trainings.list_page, Versions.get/restore/diff and
Runtime.retrieve/test_conversation: each scenario runs through both twins (`Client` and
`AsyncClient`) over real HTTP against the real app.

The one fake is the LLM behind test-conversation (`tests/runtime/fake_llm.py`, on 127.0.0.1):
no model can run here, and the test asserts what it received.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from cuecard.client import Agent, AgentVersion, AsyncClient, Client, Page, Retrieval
from cuecard.core.config import Settings
from tests.client.live import LiveServer
from tests.runtime.fake_llm import FakeLlm, running_fake_llm
from tests.runtime.test_conversations import llm_settings


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    with running_fake_llm() as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, fake_llm: FakeLlm) -> Settings:
    return llm_settings(database_url, fake_llm.url)


class Twin:
    """The same call through either client: the blocking one runs in a thread."""

    def __init__(self, blocking: Client | None, awaitable: AsyncClient | None) -> None:
        self.blocking = blocking
        self.awaitable = awaitable

    async def __call__(self, resource: str, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.blocking is not None:
            bound = getattr(getattr(self.blocking, resource), method)
            return await asyncio.to_thread(bound, *args, **kwargs)
        assert self.awaitable is not None
        return await getattr(getattr(self.awaitable, resource), method)(*args, **kwargs)


@pytest.fixture(params=["Client", "AsyncClient"])
async def twin(
    request: pytest.FixtureRequest, server: LiveServer, token: str
) -> AsyncIterator[Twin]:
    if request.param == "Client":
        with Client(server.url, token) as blocking:
            yield Twin(blocking, None)
    else:
        async with AsyncClient(server.url, token) as awaitable:
            yield Twin(None, awaitable)


@pytest.fixture
async def two_versions(twin: Twin) -> Agent:
    """v1: refunds in 30 days and a tone training; v2: 60 days; then a draft-only training."""
    agent: Agent = await twin("agents", "create", "Bot", description="You help callers.")
    await twin("trainings", "upsert", agent.id, node_id="refunds", subject="Refunds",
               instructions="Refund within 30 days.")  # fmt: skip
    await twin("trainings", "upsert", agent.id, node_id="tone", subject="Tone",
               instructions="Be warm.")  # fmt: skip
    await twin("agents", "publish", agent.id)
    await twin("trainings", "upsert", agent.id, node_id="refunds", subject="Refunds",
               instructions="Refund within 60 days.")  # fmt: skip
    await twin("agents", "publish", agent.id)
    await twin("trainings", "upsert", agent.id, node_id="new", subject="New",
               instructions="Only in the draft.")  # fmt: skip
    return agent


class TestAgentsUpdate:
    async def test_update_changes_the_settings_and_sets_the_agent_to_draft(
        self, twin: Twin
    ) -> None:
        agent = await twin("agents", "create", "Bot", description="You help.")
        await twin("agents", "publish", agent.id)

        updated = await twin("agents", "update", agent.id, label="Front desk", llm_temperature=0.3)

        assert isinstance(updated, Agent)
        assert (updated.label, updated.llm_temperature) == ("Front desk", 0.3)
        assert updated.current_status == "draft"
        assert updated.name == "Bot"  # untouched settings are kept
        again = await twin("agents", "get", agent.id)
        assert (again.label, again.llm_temperature, again.current_status) == (
            "Front desk", 0.3, "draft",
        )  # fmt: skip


class TestTrainingPages:
    async def test_list_page_returns_one_page_and_the_total(self, twin: Twin) -> None:
        agent = await twin("agents", "create", "Bot")
        for i in range(5):
            await twin("trainings", "upsert", agent.id, subject=f"t{i}", instructions="x",
                       current_status="inactive" if i == 4 else "active")  # fmt: skip

        second = await twin("trainings", "list_page", agent.id, page=2, per_page=2)
        active = await twin("trainings", "list_page", agent.id, per_page=10,
                            current_status="active")  # fmt: skip
        whole = await twin("trainings", "list", agent.id)
        got = await twin("agents", "get", agent.id)

        assert isinstance(second, Page)
        assert [t.subject for t in second.data] == ["t2", "t3"]
        assert (second.meta.total, second.meta.last_page) == (5, 3)
        assert [t.subject for t in active.data] == ["t0", "t1", "t2", "t3"]
        assert active.meta.total == 4
        assert [t.subject for t in whole] == [f"t{i}" for i in range(5)]
        assert got.trainings_count == 5


class TestVersions:
    async def test_get_returns_a_version_with_its_snapshot(
        self, twin: Twin, two_versions: Agent
    ) -> None:
        first = await twin("versions", "get", two_versions.id, 1)
        live = await twin("versions", "get", two_versions.id, 2)

        assert isinstance(first, AgentVersion)
        assert (first.version, first.is_latest, live.is_latest) == (1, False, True)
        assert first.snapshot is not None and live.snapshot is not None
        by_node = {t["node_id"]: t["instructions"] for t in first.snapshot["trainings"]}
        assert by_node == {"refunds": "Refund within 30 days.", "tone": "Be warm."}
        live_nodes = {t["node_id"]: t["instructions"] for t in live.snapshot["trainings"]}
        assert live_nodes["refunds"] == "Refund within 60 days."

    async def test_restore_brings_the_version_back_into_the_draft(
        self, twin: Twin, two_versions: Agent
    ) -> None:
        result = await twin("versions", "restore", two_versions.id, 1)

        trainings = await twin("trainings", "list", two_versions.id)
        by_node = {t.node_id: (t.instructions, t.current_status) for t in trainings}
        assert result["restored_version"] == 1
        assert result["agent"]["current_status"] == "draft"
        assert by_node == {
            "refunds": ("Refund within 30 days.", "active"),
            "tone": ("Be warm.", "active"),
            "new": ("Only in the draft.", "inactive"),  # deleted nothing, set inactive
        }
        new_id = next(t.id for t in trainings if t.node_id == "new")
        assert result["deactivated_training_ids"] == [new_id]

    async def test_diff_between_two_versions_and_of_the_draft(
        self, twin: Twin, two_versions: Agent
    ) -> None:
        versions = await twin("versions", "diff", two_versions.id, 1, 2)
        draft = await twin("versions", "diff", two_versions.id, "published", "draft")
        none = await twin("versions", "diff", two_versions.id, 2, "published")

        assert versions["has_changes"] is True
        assert [(c["node_id"], c["fields"]) for c in versions["trainings"]["changed"]] == [
            ("refunds", ["instructions"])
        ]
        assert [t["node_id"] for t in draft["trainings"]["added"]] == ["new"]
        assert none["has_changes"] is False


class TestRuntime:
    async def test_retrieve_ranks_the_relevant_training_first(self, twin: Twin) -> None:
        agent = await twin("agents", "create", "Bot", description="Base.",
                           training_budget_tokens=5)  # fmt: skip
        for topic in ("refund policy for damaged parcels", "opening hours on holidays"):
            await twin("trainings", "upsert", agent.id, subject=topic, instructions=topic * 5)

        result = await twin(
            "runtime", "retrieve", agent.id,
            [{"role": "user", "content": "my parcel arrived damaged, refund?"}],
            version="draft", top_k=1, budget_tokens=500,
        )  # fmt: skip

        assert isinstance(result, Retrieval)
        assert result.mode == "retrieve"
        assert [d.subject for d in result.documents] == ["refund policy for damaged parcels"]

    async def test_test_conversation_sends_the_compiled_prompt_and_returns_the_reply(
        self, twin: Twin, fake_llm: FakeLlm
    ) -> None:
        agent = await twin("agents", "create", "Bot", description="You are Ana.")
        # Without a node_id a training is part of the system prompt.
        await twin(
            "trainings", "upsert", agent.id, subject="Refunds", instructions="Within 30 days."
        )

        answer = await twin(
            "runtime", "test_conversation", agent.id,
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
             {"role": "user", "content": "Refund?"}],
        )  # fmt: skip

        assert answer["reply"] == {"role": "assistant", "content": "You said: Refund?"}
        assert answer["debug"]["version"] == "draft"
        assert fake_llm.last.messages[0]["role"] == "system"
        assert "Within 30 days." in fake_llm.last.messages[0]["content"]
        assert [m["content"] for m in fake_llm.last.messages[1:]] == ["Hi", "Hello!", "Refund?"]
