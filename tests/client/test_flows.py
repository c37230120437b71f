"""client.flows (and its async twin) against the real app: the same scenario through both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cuecard.client import AgentFlow, AsyncClient, Client, FlowVersion, ValidationError
from tests.client.live import LiveServer

FLOW = {
    "initial_node_id": "greet",
    "meta": {"name": "Intake v1", "version": "1.0.0"},
    "nodes": [
        {"id": "greet", "type": "say", "content": "Hi!", "next": "end"},
        {"id": "end", "type": "end"},
    ],
}
BROKEN = {"initial_node_id": "nowhere", "nodes": [{"id": "greet", "type": "end"}]}


@pytest.fixture
async def cuecard(app: Any, token: str) -> AsyncIterator[AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with AsyncClient("http://testserver", token, http_client=http) as client:
        yield client
    await http.aclose()


class TestAsyncFlows:
    async def test_save_read_validate_and_list_versions(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot")

        assert await cuecard.flows.get(agent.id) == AgentFlow(conversation_mode="llm_driven")
        await cuecard.flows.validate(agent.id, FLOW)
        saved = await cuecard.flows.update(agent.id, "flow_driven", FLOW)
        await cuecard.flows.update(agent.id, "llm_driven")
        versions = await cuecard.flows.versions(agent.id)
        oldest = await cuecard.flows.version(agent.id, versions[-1].id)

        assert saved.flow_config == FLOW
        assert [(v.number, v.version, v.is_current) for v in versions] == [
            (2, "2", True), (1, "1.0.0", False),
        ]  # fmt: skip
        assert isinstance(oldest, FlowVersion) and oldest.flow_config == FLOW

    async def test_an_invalid_flow_raises_with_every_problem(self, cuecard: AsyncClient) -> None:
        agent = await cuecard.agents.create("Bot")
        with pytest.raises(ValidationError) as caught:
            await cuecard.flows.update(agent.id, "flow_driven", BROKEN)
        assert caught.value.message == "Flow validation failed"
        assert caught.value.errors == {"body": ["initial_node_id 'nowhere' not found in nodes"]}


class TestBlockingFlows:
    async def test_save_read_validate_and_list_versions(self, server: LiveServer, token: str
                                                        ) -> None:  # fmt: skip
        with Client(server.url, token) as client:
            agent = client.agents.create("Bot")
            assert client.flows.get(agent.id) == AgentFlow(conversation_mode="llm_driven")
            client.flows.validate(agent.id, FLOW)
            saved = client.flows.update(agent.id, "flow_driven", FLOW)
            client.flows.update(agent.id, "llm_driven")
            versions = client.flows.versions(agent.id)
            oldest = client.flows.version(agent.id, versions[-1].id)
            with pytest.raises(ValidationError):
                client.flows.validate(agent.id, BROKEN)

        assert saved.flow_config == FLOW
        assert [(v.number, v.version, v.is_current) for v in versions] == [
            (2, "2", True), (1, "1.0.0", False),
        ]  # fmt: skip
        assert oldest.flow_config == FLOW
