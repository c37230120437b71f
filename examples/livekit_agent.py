"""A LiveKit Agents (1.x) voice agent built from a Cuecard agent's compiled config.

    pip install "livekit-agents==1.8.9" httpx     # plus the STT/LLM/TTS plugins your worker uses
    export CUECARD_URL=http://127.0.0.1:8000 CUECARD_TOKEN=talq_...
    python examples/livekit_agent.py AGENT_ID [--version published|draft|N]

Without a room it prints what the worker would run: each step's instructions and tools.

1. At job start the entrypoint fetches `GET /api/v1/agents/{id}/runtime-config?format=openai-
   messages`: per flow node, the system messages (the agent's description and trainings, the
   node's own trainings, the node's task) and the node's functions as OpenAI tools, plus where
   each function leads. An agent without a flow is one node, `start`.
2. `build_agent(...)` makes a LiveKit `Agent` for the node the call is in: its `instructions`
   are those messages, its `tools` the node's functions. Calling a transition function hands
   the call to the `Agent` of the next node (LiveKit's handoff: a tool that returns an Agent).
   A step that ends the call says its line and shuts the session down; telephony transfers are
   the worker's (`on_transfer`).
3. When the agent's trainings are over its budget, `on_user_turn_completed` asks
   `POST /api/v1/agents/{id}/runtime/retrieve` for the caller's turn and adds the documents to
   the turn's chat context before the LLM answers.

In a worker:

    async def entrypoint(ctx: JobContext):
        async with httpx.AsyncClient(base_url=URL, headers=AUTH) as http:
            config = await load_config(http, AGENT_ID)
            session = AgentSession(stt=..., llm=..., tts=...)
            await session.start(agent=build_agent(config, http=http), room=ctx.room)
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from livekit.agents import Agent, ChatContext, ChatMessage, RunContext, function_tool

RETRIEVED_HEADER = "Trainings for this turn:"


async def load_config(
    client: httpx.AsyncClient, agent_id: str, version: str = "published"
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/agents/{agent_id}/runtime-config",
        params={"version": version, "format": "openai-messages"},
    )
    response.raise_for_status()
    config: dict[str, Any] = response.json()
    config["version"] = response.headers.get("X-Cuecard-Version", version)
    return config


class CuecardAgent(Agent):
    """One step of the agent's flow (or the whole agent, without a flow) as a LiveKit Agent."""

    def __init__(
        self,
        config: dict[str, Any],
        node_id: str,
        http: httpx.AsyncClient | None,
        on_transfer: Callable[[RunContext, str | None], Awaitable[None]] | None,
    ) -> None:
        self.config, self.node_id, self.http, self.on_transfer = config, node_id, http, on_transfer
        node = config["nodes"][node_id]
        super().__init__(
            id=node_id,
            instructions="\n\n".join(m["content"] for m in node["messages"]),
            tools=[self._tool(tool["function"]) for tool in node["tools"]],
        )

    def _tool(self, schema: dict[str, Any]) -> Any:
        name = schema["name"]
        target = self.config["nodes"][self.node_id]["transitions"].get(name)

        async def call(raw_arguments: dict[str, object], context: RunContext) -> Any:
            if target is None:
                return None  # a tool of the bot's own (an action, a global function)
            step = self.config["nodes"][target]
            if step["say"]:
                await context.session.say(step["say"])
            if step["type"] == "transfer" and self.on_transfer is not None:
                await self.on_transfer(context, step["transfer_to"])
            if step["ends_call"]:
                context.session.shutdown()
                return None
            # A tool that returns an Agent hands the call over to it: the next step.
            return CuecardAgent(self.config, target, self.http, self.on_transfer)

        return function_tool(call, raw_schema=schema)

    async def on_user_turn_completed(self, turn_ctx: ChatContext, new_message: ChatMessage) -> None:
        text = await self.trainings_for_turn(new_message.text_content or "")
        if text:
            turn_ctx.add_message(role="system", content=text)

    async def trainings_for_turn(self, caller_said: str) -> str | None:
        """The retrieved trainings for the caller's turn (None in inline mode or on no match)."""
        if self.http is None or self.config["retrieval"]["mode"] != "retrieve" or not caller_said:
            return None
        body = {
            "version": self.config["version"],
            "node_id": self.node_id if self.config["conversation_mode"] == "flow_driven" else None,
            "messages": [{"role": "user", "content": caller_said}],
        }
        response = await self.http.post(self.config["retrieval"]["endpoint"], json=body)
        if response.status_code != 200:
            return None  # a turn without retrieved trainings beats a call that stops
        documents = response.json()["documents"]
        blocks = [f"### {d['subject']}\n{d['content']}" for d in documents]
        return "\n\n".join([RETRIEVED_HEADER, *blocks]) if blocks else None


def build_agent(
    config: dict[str, Any],
    *,
    node_id: str | None = None,
    http: httpx.AsyncClient | None = None,
    on_transfer: Callable[[RunContext, str | None], Awaitable[None]] | None = None,
) -> CuecardAgent:
    """The LiveKit Agent a call starts with (or the one for `node_id`)."""
    return CuecardAgent(config, node_id or config["initial_node"], http, on_transfer)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("agent_id")
    parser.add_argument("--version", default="published")
    args = parser.parse_args()
    token = os.environ.get("CUECARD_TOKEN")
    if not token:
        raise SystemExit("set CUECARD_TOKEN (a read-only token is enough)")
    url = os.environ.get("CUECARD_URL", "http://127.0.0.1:8000")
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
        config = await load_config(c, args.agent_id, args.version)
    for node_id in config["nodes"]:
        agent = build_agent(config, node_id=node_id)
        tools = ", ".join(t.info.name for t in agent.tools) or "(none)"
        print(f"step {node_id}: tools {tools}\n  " + str(agent.instructions).replace("\n", "\n  "))


if __name__ == "__main__":
    asyncio.run(main())
