"""The client's methods for versions, diffs and the runtime endpoints, against the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cuecard.client import (
    Agent,
    AgentVersion,
    AsyncClient,
    Client,
    ConflictError,
    Retrieval,
    ServerError,
)
from tests.client.live import LiveServer


@pytest.fixture
async def cuecard(app: Any, token: str) -> AsyncIterator[AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with AsyncClient("http://testserver", token, http_client=http) as client:
        yield client
    await http.aclose()


@pytest.fixture
async def agent(cuecard: AsyncClient) -> Agent:
    """Published once with a refunds node, then the node edited in the draft."""
    agent = await cuecard.agents.create("Bot", description="You help callers.")
    await cuecard.trainings.upsert(
        agent.id, node_id="refunds", subject="Refunds", instructions="Refund within 30 days."
    )
    await cuecard.trainings.upsert(agent.id, subject="Tone", instructions="Be warm.")
    await cuecard.agents.publish(agent.id)
    await cuecard.trainings.upsert(
        agent.id, node_id="refunds", subject="Refunds", instructions="Refund within 60 days."
    )
    return agent


class TestVersions:
    async def test_list_and_get_return_typed_versions(
        self, cuecard: AsyncClient, agent: Agent
    ) -> None:
        await cuecard.agents.publish(agent.id)

        listed = [v async for v in cuecard.versions.list(agent.id, per_page=1)]
        first = await cuecard.versions.get(agent.id, 1)

        assert [v.version for v in listed] == [2, 1]
        assert all(isinstance(v, AgentVersion) for v in listed)
        assert first.snapshot is not None
        instructions = {t["node_id"]: t["instructions"] for t in first.snapshot["trainings"]}
        assert instructions["refunds"] == "Refund within 30 days."

    async def test_diff_names_the_changed_training(
        self, cuecard: AsyncClient, agent: Agent
    ) -> None:
        diff = await cuecard.versions.diff(agent.id, "published", "draft")

        assert diff["has_changes"] is True
        assert [(c["node_id"], c["fields"]) for c in diff["trainings"]["changed"]] == [
            ("refunds", ["instructions"])
        ]

    async def test_restore_makes_the_draft_equal_to_the_version(
        self, cuecard: AsyncClient, agent: Agent
    ) -> None:
        result = await cuecard.versions.restore(agent.id, 1)

        trainings = await cuecard.trainings.list(agent.id)
        assert result["restored_version"] == 1
        assert {t.node_id: t.instructions for t in trainings}["refunds"] == (
            "Refund within 30 days."
        )


class TestRuntime:
    async def test_config_returns_the_compiled_document(
        self, cuecard: AsyncClient, agent: Agent
    ) -> None:
        published = await cuecard.runtime.config(agent.id)
        draft = await cuecard.runtime.config(agent.id, version="draft")
        flows = await cuecard.runtime.config(agent.id, format="pipecat-flows")

        # No flow: the "refunds" training reaches the model everywhere, in the system prompt.
        assert "Refund within 30 days." in published["system_prompt"]
        assert "Refund within 60 days." in draft["system_prompt"]
        assert "Refund within 30 days." in flows["nodes"]["start"]["role_message"]

    async def test_config_of_a_never_published_agent_is_a_conflict(
        self, cuecard: AsyncClient
    ) -> None:
        agent = await cuecard.agents.create("Fresh")

        with pytest.raises(ConflictError) as caught:
            await cuecard.runtime.config(agent.id)

        assert caught.value.code == "AGENT_NOT_PUBLISHED"

    async def test_retrieve_returns_typed_documents(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot", description="Base.", training_budget_tokens=5)
        for topic in ("refund policy for damaged parcels", "opening hours on holidays"):
            await cuecard.trainings.upsert(agent.id, subject=topic, instructions=topic * 5)

        result = await cuecard.runtime.retrieve(
            agent.id, [{"role": "user", "content": "my parcel arrived damaged, refund?"}],
            version="draft", top_k=1, budget_tokens=500,
        )  # fmt: skip

        assert isinstance(result, Retrieval)
        assert result.mode == "retrieve"
        assert [d.subject for d in result.documents] == ["refund policy for damaged parcels"]

    async def test_test_conversation_without_an_llm_shows_what_would_be_sent(
        self, cuecard: AsyncClient, agent: Agent
    ) -> None:
        with pytest.raises(ServerError) as caught:
            await cuecard.runtime.test_conversation(agent.id, [{"role": "user", "content": "Hi"}])

        assert (caught.value.status, caught.value.code) == (503, "LLM_NOT_CONFIGURED")
        sent = caught.value.body["debug"]["messages"]
        assert any("Be warm." in m["content"] for m in sent)


class TestBlockingClient:
    async def test_versions_and_config_over_http(self, server: LiveServer, token: str) -> None:
        with Client(server.url, token) as client:
            agent = client.agents.create("Bot", description="You help.")
            client.agents.publish(agent.id)

            versions = list(client.versions.list(agent.id))
            config = client.runtime.config(agent.id)

        assert [v.version for v in versions] == [1]
        assert config["system_prompt"] == "You help."
