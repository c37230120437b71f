"""Load a Cuecard agent into a pipecat bot at call start, the way a bot runner would.

    export CUECARD_URL=http://127.0.0.1:8000 CUECARD_TOKEN=talq_...
    python examples/pipecat_flows_loader.py AGENT_ID [--version published|draft|N]
        [--question "Can I get a refund?"] [--node-id NODE] [--cache-dir DIR]

No telephony, STT, TTS or LLM key is needed: it stops where a call would begin and prints what the
bot would load. A read-only token is enough.

1. `GET /api/v1/agents/{id}/runtime-config?format=pipecat-flows` with `If-None-Match` from a local
   cache. The ETag is the config's `config_hash`, so every call start after the first costs a
   304 until the agent is published again (or, for `--version draft`, edited).
2. The body is a pipecat-flows `FlowConfig` as data, the agent's whole flow: its nodes, their
   transition functions, what each says. With pipecat installed (`pip install pipecat-ai`, which
   ships Flows as `pipecat.flows` since 1.5) the bot runs it unchanged:

       handlers = action_handlers(client, await load_actions(client, agent_id, version))
       flow = Flow(FlowConfig.model_validate(loaded.document), handlers=handlers)
       flow_manager = FlowManager(worker=task, llm=llm, context_aggregator=context_aggregator,
                                  global_functions=flow.global_functions)
       await flow_manager.initialize(flow.initial_node)

   `handlers` are the agent's actions (`action_handlers`: each a direct function with its tool's
   parameters that runs the action, a webhook through Cuecard's invoke endpoint, which holds the
   credentials) plus any flow global function other than `end_conversation`/`transfer_call`; a
   `transfer` node runs the `transfer_call` action, which the bot registers
   (`flow_manager.register_action`), since telephony is the bot's. Without pipecat it prints the
   nodes.
3. When the config is over the agent's training budget (`X-Cuecard-Budget-Mode: retrieve`), some
   trainings are not in the prompt: `trainings_retriever(...)` is a pipecat frame processor to
   place before the LLM. On every turn it asks `POST /api/v1/agents/{id}/runtime/retrieve` with
   the recent messages (and the flow node the call is in) and adds the documents as one system
   message after the caller's turn, replacing the previous turn's. `--question` shows that call
   for one caller question.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

RETRIEVED_HEADER = "Trainings for this turn:"
RECENT_MESSAGES = 6  # the turns a retrieval query reads, as the server does


@dataclass(frozen=True)
class LoadedConfig:
    document: dict[str, Any]  # the FlowConfig, as JSON data
    config_hash: str
    version: str  # "draft" or the version number
    budget_mode: str  # "inline" or "retrieve"
    from_cache: bool  # True when the server answered 304


async def load_flow_config(
    client: httpx.AsyncClient,
    agent_id: str,
    version: str = "published",
    cache_dir: Path | None = None,
) -> LoadedConfig:
    """The agent's flow config, revalidated against a file cache keyed by agent and version."""
    cache = cache_dir / f"{agent_id}-{version}.json" if cache_dir else None
    cached = json.loads(cache.read_text()) if cache and cache.exists() else None
    headers = {"If-None-Match": f'"{cached["config_hash"]}"'} if cached else {}
    response = await client.get(
        f"/api/v1/agents/{agent_id}/runtime-config",
        params={"version": version, "format": "pipecat-flows"},
        headers=headers,
    )
    meta = {
        "version": response.headers.get("X-Cuecard-Version", version),
        "budget_mode": response.headers.get("X-Cuecard-Budget-Mode", "inline"),
    }
    if response.status_code == 304 and cached:
        return LoadedConfig(cached["document"], cached["config_hash"], **meta, from_cache=True)
    if response.status_code != 200:
        raise SystemExit(f"runtime-config answered {response.status_code}: {response.text}")
    config_hash = response.headers["ETag"].strip('"')
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"config_hash": config_hash, "document": response.json()}))
    return LoadedConfig(response.json(), config_hash, **meta, from_cache=False)


async def trainings_for_turn(
    client: httpx.AsyncClient,
    agent_id: str,
    version: str,
    messages: list[dict[str, str]],
    node_id: str | None = None,
) -> str | None:
    """The system message a retrieve-mode bot adds before its next LLM turn (None: nothing)."""
    body: dict[str, Any] = {"version": version, "messages": messages}
    if node_id:
        body["node_id"] = node_id
    response = await client.post(f"/api/v1/agents/{agent_id}/runtime/retrieve", json=body)
    response.raise_for_status()
    documents = response.json()["documents"]
    if not documents:
        return None
    blocks = [f"### {d['subject']}\n{d['content']}" for d in documents]
    return "\n\n".join([RETRIEVED_HEADER, *blocks])


def trainings_retriever(
    client: httpx.AsyncClient,
    agent_id: str,
    loaded: LoadedConfig,
    current_node: Callable[[], str | None] = lambda: None,
) -> Any:
    """A pipecat FrameProcessor that adds this turn's retrieved trainings before the LLM.

    Place it between the user context aggregator and the LLM; `current_node` is typically
    `lambda: flow_manager.current_node`. In inline mode every training is already in the
    prompt, so it passes frames through without a request.
    """
    from pipecat.frames.frames import Frame, LLMContextFrame
    from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

    class TrainingsRetriever(FrameProcessor):  # type: ignore[misc]
        async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
            await super().process_frame(frame, direction)
            retrieving = loaded.budget_mode == "retrieve"
            if retrieving and isinstance(frame, LLMContextFrame):
                await self._add_trainings(frame.context)
            await self.push_frame(frame, direction)

        async def _add_trainings(self, context: Any) -> None:
            # The previous turn's retrieved trainings leave: the prompt holds this turn's only.
            messages = [
                m for m in context.get_messages()
                if not (isinstance(m, dict) and m.get("role") == "system"
                        and str(m.get("content", "")).startswith(RETRIEVED_HEADER))
            ]  # fmt: skip
            turns = [
                {"role": m["role"], "content": m["content"]}
                for m in messages
                if isinstance(m, dict) and m.get("role") in ("user", "assistant")
                and isinstance(m.get("content"), str) and m["content"]
            ]  # fmt: skip
            if not turns:
                return  # the call's opening: nothing said yet to retrieve for
            try:
                text = await trainings_for_turn(
                    client, agent_id, loaded.version, turns[-RECENT_MESSAGES:], current_node()
                )
            except httpx.HTTPError as exc:
                # A turn without its retrieved trainings beats a call that stops.
                logging.getLogger(__name__).warning("retrieve failed: %s", exc)
                text = None
            if text:
                messages.append({"role": "system", "content": text})
            context.set_messages(messages)

    return TrainingsRetriever(name="CuecardTrainingsRetriever")


@dataclass(frozen=True)
class ActionSet:
    """The agent's active actions: `tools` as OpenAI tools (name, description, JSON-Schema
    parameters), `actions` how to run each one, by tool name."""

    tools: list[dict[str, Any]]
    actions: dict[str, dict[str, Any]]


async def load_actions(client: httpx.AsyncClient, agent_id: str, version: str) -> ActionSet:
    """The native config's action tools, for the functions the flow config names."""
    response = await client.get(
        f"/api/v1/agents/{agent_id}/runtime-config",
        params={"version": version, "format": "native"},
    )
    response.raise_for_status()
    native = response.json()
    return ActionSet(native["tools"], native["actions"])


_PYTHON_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool,
                 "array": list, "object": dict}  # fmt: skip


def action_handlers(client: httpx.AsyncClient, action_set: ActionSet) -> dict[str, Any]:
    """pipecat direct functions for the action tools, by name: `Flow(config, handlers=...)`.

    pipecat reads a direct function's parameters from its signature and its description from
    its docstring, so each one is given those of its tool; calling it runs the action.
    """
    import inspect

    # The flow config says where the call goes after a function (its `transition_to`).
    from pipecat.flows import TRANSITION_IN_YAML  # type: ignore[import-not-found]

    handlers: dict[str, Any] = {}
    for tool in action_set.tools:
        function = tool["function"]
        name, schema = function["name"], function["parameters"]

        def make(name: str) -> Any:
            async def handler(flow_manager: Any, **arguments: Any) -> tuple[Any, Any]:
                given = {k: v for k, v in arguments.items() if v is not None}
                result = await run_action(client, action_set.actions, name, given)
                return result, TRANSITION_IN_YAML

            return handler

        handler = make(name)
        required = set(schema.get("required") or [])
        parameters = [inspect.Parameter("flow_manager", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        annotations: dict[str, Any] = {"flow_manager": Any}
        lines = [function["description"], "", "Args:"]
        for field_name, field in schema["properties"].items():
            kind = _PYTHON_TYPES.get(field.get("type", "string"), str)
            annotations[field_name] = kind if field_name in required else kind | None
            parameters.append(inspect.Parameter(
                field_name, inspect.Parameter.KEYWORD_ONLY, annotation=annotations[field_name],
                default=inspect.Parameter.empty if field_name in required else None,
            ))  # fmt: skip
            lines.append(f"    {field_name}: {field.get('description') or field_name}")
        handler.__name__ = handler.__qualname__ = name
        handler.__doc__ = "\n".join(lines)
        handler.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        handler.__annotations__ = annotations
        handlers[name] = handler
    return handlers


async def run_action(
    client: httpx.AsyncClient,
    actions: dict[str, dict[str, Any]],
    name: str,
    arguments: dict[str, Any],
) -> dict[str, Any]:
    """What the bot's handler for the function `name` does when the LLM calls it.

    A webhook runs through Cuecard's invoke endpoint (which holds the credentials); the bot says
    `speak_on_send` meanwhile and `speak` after. Transfer and hold are the bot's own to do.
    """
    meta = actions[name]
    if "invoke_endpoint" not in meta:
        return {"type": meta["type"], "transfer_to": meta.get("transfer_to"),
                "hold_duration": meta.get("hold_duration")}  # fmt: skip
    response = await client.post(meta["invoke_endpoint"], json={"arguments": arguments})
    response.raise_for_status()
    result: dict[str, Any] = response.json()["data"]
    return result


def describe(loaded: LoadedConfig, handlers: dict[str, Any] | None = None) -> str:
    """What pipecat makes of the config, or the raw nodes when pipecat is not installed."""
    lines = [
        f"config_hash {loaded.config_hash} (version {loaded.version}, "
        f"{'304, from cache' if loaded.from_cache else 'downloaded'}), "
        f"trainings {loaded.budget_mode}",
    ]
    try:
        from pipecat.flows import Flow, FlowConfig  # type: ignore[import-not-found]
    except ImportError:
        lines.append("pipecat is not installed: showing the raw FlowConfig nodes")
        nodes = loaded.document["nodes"]
    else:
        flow = Flow(FlowConfig.model_validate(loaded.document), handlers=handlers or {})
        start = loaded.document["initial_node"]
        lines.append(f"pipecat FlowConfig OK; a FlowManager would start in {start!r}")
        nodes = {name: flow.node(name) for name in loaded.document["nodes"]}
    # Prompt text is shown as pipecat holds it: `\{{ x }}` is a literal `{{ x }}` to FlowManager.
    for name, node in nodes.items():
        lines.append(f"node {name}:")
        if node.get("role_message"):
            lines.append("  role_message: " + node["role_message"].replace("\n", "\n    "))
        for message in node["task_messages"]:
            lines.append(
                f"  task ({message['role']}): " + message["content"].replace("\n", "\n    ")
            )
        for action in node.get("pre_actions") or []:
            lines.append(f"  pre_action {action['type']}: {action.get('text', '')}")
        for function in node.get("functions") or []:
            name = function.name if hasattr(function, "name") else function["name"]
            lines.append(f"  function {name}")
    for function in loaded.document.get("global_functions") or []:
        lines.append(f"global function {function['name']}")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("agent_id")
    parser.add_argument("--version", default="published", help="published (default), draft or N")
    parser.add_argument("--question", help="a caller question, to show per-turn retrieval")
    parser.add_argument("--node-id", help="the node the call is in, for --question")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "cuecard-flow-cache"
    )
    args = parser.parse_args()
    url, token = (
        os.environ.get("CUECARD_URL", "http://127.0.0.1:8000"),
        os.environ.get("CUECARD_TOKEN"),
    )
    if not token:
        raise SystemExit("set CUECARD_TOKEN (a read-only token is enough)")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        loaded = await load_flow_config(client, args.agent_id, args.version, args.cache_dir)
        action_set = await load_actions(client, args.agent_id, loaded.version)
        print(describe(loaded, action_handlers(client, action_set)))
        if args.question:
            messages = [{"role": "user", "content": args.question}]
            extra = await trainings_for_turn(
                client, args.agent_id, loaded.version, messages, args.node_id
            )
            print("\nper-turn retrieval for the question:")
            print(extra or "(nothing to add: the trainings are inline, or none matches)")


if __name__ == "__main__":
    asyncio.run(main())
