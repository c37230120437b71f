"""Compile an agent snapshot into what a voice runtime loads.

A snapshot is what publish freezes (`agents.service.snapshot`): the agent's settings and every
training with its status. The draft is compiled from the same shape built from the live rows, so
draft and published go through one function.

The output is deterministic: the same snapshot gives the same bytes, in every format, because LLM
prompt caches and HTTP ETags only hit on identical bytes. So: trainings are ordered by position
(nulls last), then created_at, then id; no timestamp or request detail enters the prompt; JSON is
written with a fixed key order and separators. `config_hash` is the SHA-256 of the compiled
content (not of the request), so a draft equal to a version has that version's hash.

What reaches the runtime:
- `system_prompt`: the agent's description, then each active training without a node_id as a
  `### subject` block.
- `nodes`: active trainings with a node_id, as task messages of that node (pipecat-flows nodes,
  LiveKit agents, or extra system messages while the caller is in that node).
- Budget: when every active training fits in `training_budget_tokens`, all are inline. When not,
  node trainings and pinned trainings stay inline and the rest are left out of the prompt, to be
  fetched per turn by `POST .../runtime/retrieve`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from cuecard.runtime import agent_config
from cuecard.runtime.tokens import ENCODING, ESTIMATE_NOTE, count_tokens

# Part of every config_hash: bump it when the same snapshot should compile to different output.
COMPILER_VERSION = 1

# The agent settings a voice runtime needs on a call (name, label and description are not: the
# description is the base of the system prompt).
RUNTIME_SETTINGS = (
    "language", "initial_message", "who_speaks_first", "initial_message_delay",
    "conversation_speed", "interrupt_sensitivity", "endpointing_sensitivity",
    "ivr_navigation_mode", "idle_time_seconds", "max_idle_check_count",
    "ask_if_human_present_on_idle", "initial_idle_time_seconds", "initial_max_idle_check_count",
    "user_inactivity_timeout_seconds", "max_call_duration_seconds",
    "say_goodbye_on_max_duration", "llm_temperature", "enable_recording", "direction",
)  # fmt: skip

DEFAULT_BUDGET_TOKENS = 2000
# The pipecat-flows node a call starts in. A training whose node_id is "start" lands there.
START_NODE = "start"
START_TASK = "Talk with the caller as your role describes."

T = TypeVar("T")


class Format(StrEnum):
    NATIVE = "native"
    PIPECAT_FLOWS = "pipecat-flows"
    OPENAI_MESSAGES = "openai-messages"


class BudgetMode(StrEnum):
    INLINE = "inline"
    RETRIEVE = "retrieve"


@dataclass(frozen=True, slots=True)
class Block:
    """One active training as the runtime sees it."""

    training_id: str
    node_id: str | None
    subject: str
    instructions: str
    pinned: bool
    text: str
    tokens: int
    order: int  # rank in the stable order; ranking ties fall back to it


def render_block(subject: str, instructions: str) -> str:
    return f"### {subject}\n{instructions}"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _dump(value: Any) -> bytes:
    # Insertion order, not sorted keys: every dict below is built in a fixed order, and a human
    # reading the config sees settings before prompts.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def stable_order(trainings: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    def key(t: Mapping[str, Any]) -> tuple[bool, int, str, str]:
        position = t.get("position")
        return (position is None, position or 0, str(t["created_at"]), str(t["id"]))

    return sorted(trainings, key=key)


class Compiled:
    """One compiled version or draft revision. Immutable once built; cached and shared."""

    def __init__(
        self,
        *,
        agent_id: str,
        snapshot: Mapping[str, Any],
        settings: dict[str, Any],
        system_prompt: str,
        system_blocks: list[Block],
        nodes: dict[str, list[Block]],
        retrieved: list[Block],
        mode: BudgetMode,
        budget_tokens: int,
        native: dict[str, Any],
    ) -> None:
        self.agent_id = agent_id
        self.snapshot = snapshot
        self.settings = settings
        self.system_prompt = system_prompt
        self.system_blocks = system_blocks
        self.nodes = nodes
        self.retrieved = retrieved
        self.mode = mode
        self.budget_tokens = budget_tokens
        self.native = native
        self.config_hash: str = native["config_hash"]
        self.language: str = settings.get("language") or "en-US"
        self._memo: dict[str, Any] = {}

    @property
    def pinned_tokens(self) -> int:
        return sum(block.tokens for block in self.system_blocks)

    @property
    def total_tokens(self) -> int:
        total: int = self.native["tokens"]["total"]
        return total

    def node_tokens(self, node_id: str | None) -> int:
        return sum(block.tokens for block in self.nodes.get(node_id or "", []))

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Build a derived artefact (a format's bytes, the ranker) once per compiled version."""
        if key not in self._memo:
            self._memo[key] = build()
        value: T = self._memo[key]
        return value

    def has_memo(self, key: str) -> bool:
        return key in self._memo

    def render(self, fmt: Format) -> bytes:
        return self.memo(f"format:{fmt}", lambda: _dump(self._document(fmt)))

    def _document(self, fmt: Format) -> dict[str, Any]:
        if fmt is Format.PIPECAT_FLOWS:
            return self._pipecat_flows()
        if fmt is Format.OPENAI_MESSAGES:
            return self._openai_messages()
        return self.native

    def _openai_messages(self) -> dict[str, Any]:
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return {
            "agent_id": self.agent_id,
            "config_hash": self.config_hash,
            "temperature": self.settings.get("llm_temperature"),
            "messages": system,
            "nodes": {
                node_id: [{"role": "system", "content": block.text} for block in blocks]
                for node_id, blocks in self.nodes.items()
            },
            "retrieval": {
                "mode": self.mode.value,
                "endpoint": self.native["budget"]["retrieve_endpoint"],
            },
            # Active actions as OpenAI tools; `actions` says how to run each one.
            "tools": self.native["tools"],
            "actions": self.native["actions"],
        }

    def _pipecat_flows(self) -> dict[str, Any]:
        """A dict pipecat's `FlowConfig.model_validate` accepts: no key it does not know."""

        def task_messages(blocks: list[Block]) -> list[dict[str, str]]:
            return [{"role": "developer", "content": escape_placeholders(b.text)} for b in blocks]

        start: dict[str, Any] = {
            "task_messages": task_messages(self.nodes.get(START_NODE, []))
            or [{"role": "developer", "content": START_TASK}]
        }
        if self.system_prompt:
            start["role_message"] = escape_placeholders(self.system_prompt)
        initial_message = self.settings.get("initial_message")
        agent_first = self.settings.get("who_speaks_first", "agent") == "agent"
        if agent_first and initial_message:
            text = escape_placeholders(initial_message)
            start["pre_actions"] = [{"type": "tts_say", "text": text}]
        # The LLM opens only when the agent speaks first with no fixed greeting.
        start["respond_immediately"] = agent_first and not initial_message
        nodes: dict[str, Any] = {START_NODE: start}
        for node_id, blocks in self.nodes.items():
            if node_id != START_NODE:
                nodes[node_id] = {"task_messages": task_messages(blocks)}
        flow: dict[str, Any] = {"initial_node": START_NODE, "nodes": nodes}
        functions = [t.pipecat() for t in agent_config.tools(self.agent_id, self._actions())]
        if functions:  # global until flow nodes of type `action` place them
            flow["global_functions"] = functions
        return flow

    def _actions(self) -> list[Any]:
        return list(self.snapshot.get("actions") or [])


# pipecat-flows fills `{{ key }}` from its state when a node is entered and raises on a key it
# does not have; `\{{ key }}` stays literal. Training text is prose, never a template: escape it.
_PLACEHOLDER = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\s*\}\}")


def escape_placeholders(text: str) -> str:
    return _PLACEHOLDER.sub(lambda match: "\\" + match.group(0), text)


def retrieve_path(agent_id: str) -> str:
    return f"/api/v1/agents/{agent_id}/runtime/retrieve"


def compile_snapshot(snapshot: Mapping[str, Any]) -> Compiled:
    """Compile a snapshot (`{"agent": {...}, "trainings": [...]}`)."""
    agent: Mapping[str, Any] = snapshot["agent"]
    agent_id = str(agent["id"])
    settings = {name: agent.get(name) for name in RUNTIME_SETTINGS}
    settings.update(agent_config.runtime_settings(agent))
    budget_tokens = int(agent.get("training_budget_tokens") or DEFAULT_BUDGET_TOKENS)
    active = [t for t in snapshot["trainings"] if t["current_status"] == "active"]
    blocks = [
        Block(
            training_id=str(t["id"]),
            node_id=t.get("node_id"),
            subject=t["subject"],
            instructions=t["instructions"],
            pinned=bool(t.get("pinned")),
            text=(text := render_block(t["subject"], t["instructions"])),
            tokens=count_tokens(text),
            order=order,
        )
        for order, t in enumerate(stable_order(active))
    ]
    global_blocks = [b for b in blocks if b.node_id is None]
    nodes: dict[str, list[Block]] = {}
    for block in sorted((b for b in blocks if b.node_id is not None), key=_node_key):
        nodes.setdefault(str(block.node_id), []).append(block)

    active_tokens = sum(b.tokens for b in blocks)
    mode = BudgetMode.INLINE if active_tokens <= budget_tokens else BudgetMode.RETRIEVE
    if mode is BudgetMode.INLINE:
        system_blocks, retrieved = global_blocks, []
    else:
        system_blocks = [b for b in global_blocks if b.pinned]
        retrieved = [b for b in global_blocks if not b.pinned]

    description = (agent.get("description") or "").strip()
    parts = ([description] if description else []) + [b.text for b in system_blocks]
    system_prompt = "\n\n".join(parts)
    node_tokens = {node_id: sum(b.tokens for b in node) for node_id, node in nodes.items()}
    system_tokens = count_tokens(system_prompt)
    inline_tokens = sum(b.tokens for b in system_blocks) + sum(node_tokens.values())

    content: dict[str, Any] = {
        "agent_id": agent_id,
        "settings": settings,
        "system_prompt": system_prompt,
        "system_training_ids": [b.training_id for b in system_blocks],
        "nodes": {
            node_id: {
                "task_messages": [{"role": "system", "content": b.text} for b in node],
                "training_ids": [b.training_id for b in node],
            }
            for node_id, node in nodes.items()
        },
        "tokens": {
            "encoding": ENCODING,
            "note": ESTIMATE_NOTE,
            "system": system_tokens,
            "nodes": node_tokens,
            "total": system_tokens + sum(node_tokens.values()),
        },
        "budget": {
            "mode": mode.value,
            "budget_tokens": budget_tokens,
            "active_tokens": active_tokens,
            "inline_tokens": inline_tokens,
            "retrieved_tokens": sum(b.tokens for b in retrieved),
            "active_count": len(blocks),
            "inline_count": len(blocks) - len(retrieved),
            "node_count": sum(len(node) for node in nodes.values()),
            "pinned_count": sum(1 for b in global_blocks if b.pinned),
            "retrieved_count": len(retrieved),
            "retrieved_training_ids": [b.training_id for b in retrieved],
            "retrieve_endpoint": retrieve_path(agent_id) if mode is BudgetMode.RETRIEVE else None,
        },
        "warnings": _warnings(blocks, system_prompt, nodes, mode, budget_tokens, system_blocks),
        **agent_config.content(snapshot),
    }
    config_hash = hashlib.sha256(
        canonical_json({"compiler": COMPILER_VERSION, **content}).encode()
    ).hexdigest()
    native = {"agent_id": agent_id, "config_hash": config_hash, **content}
    return Compiled(
        agent_id=agent_id,
        snapshot=snapshot,
        settings=settings,
        system_prompt=system_prompt,
        system_blocks=system_blocks,
        nodes=nodes,
        retrieved=retrieved,
        mode=mode,
        budget_tokens=budget_tokens,
        native=native,
    )


def _node_key(block: Block) -> tuple[str, int]:
    return (str(block.node_id), block.order)


def _warnings(
    blocks: list[Block],
    system_prompt: str,
    nodes: dict[str, list[Block]],
    mode: BudgetMode,
    budget_tokens: int,
    system_blocks: list[Block],
) -> list[dict[str, Any]]:
    warnings: list[dict[str, Any]] = []
    if not system_prompt and not nodes:
        warnings.append(
            {
                "code": "EMPTY_PROMPT",
                "message": "The agent has no description and no active training: "
                "the runtime gets an empty prompt.",
            }
        )
    for block in blocks:
        if block.tokens > budget_tokens:
            warnings.append(
                {
                    "code": "TRAINING_OVER_BUDGET",
                    "message": f"The training {block.subject!r} alone needs {block.tokens} "
                    f"tokens, more than the budget of {budget_tokens}.",
                    "training_id": block.training_id,
                }
            )
    if mode is BudgetMode.RETRIEVE:
        pinned = sum(b.tokens for b in system_blocks)
        largest_node = max((sum(b.tokens for b in node) for node in nodes.values()), default=0)
        if pinned + largest_node > budget_tokens:
            warnings.append(
                {
                    "code": "INLINE_OVER_BUDGET",
                    "message": f"Pinned and node trainings need up to {pinned + largest_node} "
                    f"tokens inline, more than the budget of {budget_tokens}; they stay inline "
                    "and leave no room for retrieved trainings.",
                }
            )
    return warnings
