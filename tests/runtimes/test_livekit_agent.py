"""examples/livekit_agent.py builds real LiveKit Agents (livekit-agents 1.x) from the config the
app serves, without a room: instructions, tools, the handoff a transition makes, and retrieval."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from livekit.agents import Agent, ChatContext, ChatMessage

from tests.runtime.helpers import add_training, load_example, publish, set_flow
from tests.runtimes.test_pipecat_flow import FLOW, REQUEST_1

Headers = dict[str, str]


@pytest.fixture
def example(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_example(repo_root, "livekit_agent", monkeypatch)


@pytest.fixture
async def http(app: Any, headers: Headers) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=headers) as c:
        yield c


def tool_names(agent: Agent) -> list[str]:
    return [tool.info.name for tool in agent.tools]


class TestLiveKitAgent:
    async def test_each_flow_step_is_an_agent_with_its_trainings_and_functions(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: Any,
        example: ModuleType,
        http: httpx.AsyncClient,
    ) -> None:
        agent = await create_agent(description="You are Ana.")
        await add_training(client, headers, agent["id"], **REQUEST_1)
        await add_training(client, headers, agent["id"], node_id="node-book",
                           subject="Booking rules", instructions="Tuesdays only.")  # fmt: skip
        await set_flow(client, headers, agent["id"], FLOW)
        await publish(client, headers, agent["id"])

        config = await example.load_config(http, agent["id"])
        first = example.build_agent(config, http=http)

        assert isinstance(first, Agent) and first.id == "node-greet"
        assert "You are Ana." in first.instructions
        assert "### Product Knowledge" in first.instructions
        assert "Booking rules" not in first.instructions
        assert tool_names(first) == ["go_to_node_qualify", "end_conversation"]

        qualify = example.build_agent(config, node_id="node-qualify")
        assert tool_names(qualify) == ["choose_yes", "choose_no", "end_conversation"]
        choose_yes = qualify.tools[0]
        booking = await choose_yes({}, None)  # a plain step: no line to say, no session needed
        assert isinstance(booking, Agent) and booking.id == "node-book"
        assert "### Booking rules\nTuesdays only." in booking.instructions
        assert "### Product Knowledge" in booking.instructions

    async def test_without_a_flow_one_agent_carries_every_training(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: Any,
        example: ModuleType,
        http: httpx.AsyncClient,
    ) -> None:
        agent = await create_agent(description="You help.")
        await add_training(client, headers, agent["id"], **REQUEST_1)

        config = await example.load_config(http, agent["id"], "draft")
        built = example.build_agent(config)

        assert built.id == "start" and tool_names(built) == []
        assert (
            built.instructions == f"You help.\n\n### Product Knowledge\n{REQUEST_1['instructions']}"
        )

    async def test_over_budget_the_turn_gets_its_retrieved_trainings(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        create_agent: Any,
        example: ModuleType,
        http: httpx.AsyncClient,
    ) -> None:
        agent = await create_agent(description="You help.", training_budget_tokens=40)
        await add_training(client, headers, agent["id"], subject="Refunds",
                           instructions="Refunds are paid within 30 days. " * 3)  # fmt: skip
        await add_training(client, headers, agent["id"], subject="Shipping",
                           instructions="Parcels ship on weekdays. " * 3)  # fmt: skip

        config = await example.load_config(http, agent["id"], "draft")
        built = example.build_agent(config, http=http)
        turn = ChatContext()
        said = turn.add_message(role="user", content="Can I get a refund?")
        await built.on_user_turn_completed(turn, said)

        added = turn.items[-1]
        assert isinstance(added, ChatMessage) and added.role == "system"
        assert "### Refunds" in (added.text_content or "")
        assert "Shipping" not in (added.text_content or "")
