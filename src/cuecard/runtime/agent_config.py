"""The parts of a compiled config that come from the agent's voice, advanced settings and
actions. Pure functions of the snapshot (the compile engine imports no domain package), called
from `compile.compile_snapshot` in a few lines so a flow graph can take them over whole.

Secrets never get here: a snapshot holds header names and the authorization scheme, never a
value. A runtime runs a webhook action through the invoke endpoint, where Cuecard adds them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# What an input type is in JSON Schema.
_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "array": {"type": "array", "items": {}},
    "object": {"type": "object"},
}
_NOT_A_NAME = re.compile(r"[^a-z0-9_]+")


def invoke_path(agent_id: str, action_id: str) -> str:
    return f"/api/v1/agents/{agent_id}/runtime/actions/{action_id}/invoke"


def voice_settings(agent: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a runtime needs to speak as the agent, or None when no voice was chosen (the
    runtime brings its own)."""
    if not agent.get("voice_template_id"):
        return None
    return {
        "provider": agent.get("voice_provider"),
        "voice_id": agent.get("voice_provider_voice_id"),
        "template_id": agent.get("voice_template_id"),
        "name": agent.get("voice_name"),
        "quality_tier": agent.get("voice_quality_tier"),
        "speed": agent.get("conversation_speed"),
        "stability": agent.get("voice_stability"),
        "similarity": agent.get("voice_similarity"),
        "language": agent.get("language"),
        "ambient_sound": {
            "background": agent.get("ambient_background"),
            "volume": agent.get("ambient_volume"),
        }
        if agent.get("ambient_background")
        else None,
    }


@dataclass(frozen=True, slots=True)
class Tool:
    """One active action as the LLM sees it (`function`) and as the runtime runs it (`run`)."""

    name: str
    description: str
    parameters: dict[str, Any]
    node_id: str
    run: dict[str, Any]

    def openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def parameters(inputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """JSON Schema of what the LLM fills in: every input without a fixed `value`."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in inputs:
        if item.get("value") is not None:
            continue
        schema = dict(_JSON_TYPES.get(str(item.get("type") or "string"), {"type": "string"}))
        if item.get("description"):
            schema["description"] = item["description"]
        properties[str(item["name"])] = schema
        if item.get("required"):
            required.append(str(item["name"]))
    return {"type": "object", "properties": properties, "required": required}


def _tool_name(name: str, taken: set[str]) -> str:
    """A function name every LLM API accepts (^[a-z0-9_]{1,64}$), unique in the agent."""
    base = _NOT_A_NAME.sub("_", name.lower()).strip("_")[:60] or "action"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate


def tools(agent_id: str, actions: Sequence[Mapping[str, Any]]) -> list[Tool]:
    """Every active action, in the snapshot's order (created_at, id)."""
    taken: set[str] = set()
    found = []
    for action in actions:
        if action.get("current_status") != "active":
            continue
        run: dict[str, Any] = {
            "action_id": action["id"],
            "type": action["type"],
            "execution_mode": action.get("execution_mode") or "during_call",
            "speak_on_send": action.get("speak_on_send"),
        }
        if action["type"] in ("webhook", "external") and action.get("url"):
            run["invoke_endpoint"] = invoke_path(agent_id, str(action["id"]))
        if action["type"] == "transfer":
            run["transfer_to"] = action.get("transfer_to")
        if action["type"] == "hold":
            run["hold_duration"] = action.get("hold_duration")
        found.append(
            Tool(
                name=_tool_name(str(action["name"]), taken),
                description=str(action["description"]),
                parameters=parameters(action.get("input_schema") or []),
                node_id=str(action["node_id"]),
                run=run,
            )
        )
    return found


def content(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """The native config's keys for voice and actions (appended after the prompt keys)."""
    agent_id = str(snapshot["agent"]["id"])
    found = tools(agent_id, snapshot.get("actions") or [])
    return {
        "tools": [tool.openai() for tool in found],
        "actions": {tool.name: {"node_id": tool.node_id, **tool.run} for tool in found},
    }


def runtime_settings(agent: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a runtime gets besides compile.RUNTIME_SETTINGS."""
    return {
        "voice": voice_settings(agent),
        "enable_initial_message_cache": bool(agent.get("enable_initial_message_cache")),
    }
