"""Compile an agent snapshot into what a voice runtime loads.

A snapshot is what publish freezes (`snapshots.service.snapshot`): the agent's settings, every
training with its status, and the agent's conversation flow. The draft is compiled from the same
shape built from the live rows, so draft and published go through one function.

The output is deterministic: the same snapshot gives the same bytes, in every format, because LLM
prompt caches and HTTP ETags only hit on identical bytes. So: trainings are ordered by position
(nulls last), then created_at, then id; no timestamp or request detail enters the prompt; JSON is
written with a fixed key order and separators. `config_hash` is the SHA-256 of the compiled
content (not of the request), so a draft equal to a version has that version's hash.

What reaches the model. A training's `node_id` is its identity (the upsert key), not a place:
- Every active training reaches the model on every turn, in the system prompt after the agent's
  description as a `### subject` block, unless it is flow-scoped.
- Flow-scoped: the agent is `flow_driven` and its flow has a node whose `id` equals the
  training's `node_id`. Only then is the training that node's content, and only in that node.
- Budget: when every active training fits in `training_budget_tokens`, all are inline. When not,
  flow-scoped and pinned trainings stay inline and the rest are left out of the prompt, to be
  fetched per turn by `POST .../runtime/retrieve` (the retrieval candidates).

The flow (`flow_config` of a `flow_driven` agent, already validated by `flows.service`) becomes a
graph every format carries (`FlowGraph`): per node its role (the global prompt plus the node's
trainings), its task, what it says, and its transitions as named functions. An agent without a
flow compiles to one node, `start`. An action node offers the tool of the active action it names
(`runtime.agent_config.tools`); without one, the node is compiled from its task and transitions
only. Active actions no node offers are tools of every node.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeVar

from cuecard.agents import settings as agent_settings
from cuecard.runtime import agent_config
from cuecard.runtime.tokens import ENCODING, ESTIMATE_NOTE, count_tokens, training_tokens

# Part of every config_hash: bump it when the same snapshot should compile to different output.
COMPILER_VERSION = 2  # 2: node_id is identity; flows decide what is node-scoped

# The agent settings a voice runtime needs on a call, from the settings table (`reaches_runtime`):
# not name, label or description (the description is the base of the system prompt). The table
# is a leaf module (pydantic only), so the engine still imports no domain logic.
RUNTIME_SETTINGS = agent_settings.RUNTIME_SETTINGS

DEFAULT_BUDGET_TOKENS: int = agent_settings.BY_NAME["training_budget_tokens"].default
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


# Items of a list per `json.dumps` call in `canonical_json`.
_PIECE = 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, text as is: what a version is stored as and a config hashed from.

    The text of one `json.dumps`, but a long list is encoded a piece at a time: a single C call
    over a 10,000-training agent holds the GIL for most of 0.1 s, so not even a worker thread
    would let the event loop run meanwhile."""
    if isinstance(value, list) and len(value) > _PIECE:
        pieces = (canonical_json(value[i : i + _PIECE])[1:-1] for i in range(0, len(value), _PIECE))
        return "[" + ",".join(pieces) + "]"
    if (
        isinstance(value, dict)
        and any(isinstance(v, list | dict) for v in value.values())
        and all(type(k) is str for k in value)
    ):
        items = sorted(value.items(), key=lambda item: item[0])
        return "{" + ",".join(f"{_text(k)}:{canonical_json(v)}" for k, v in items) + "}"
    return _text(value)


def _text(value: Any) -> str:
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


# A node's role message when the agent has no description, no global training and the node no
# training: pipecat only replaces the LLM's system instruction with a non-empty one, and a node
# must never inherit the previous node's trainings.
DEFAULT_ROLE = "You are a voice agent on a phone call. Follow the current step of the call."
FUNCTION_NAME_MAX = 64  # OpenAI's limit for a tool name
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class ActionTool:
    """The tool an `action` node offers the LLM: the place where agent actions plug in.

    An action node whose `action_id` names an active action (by id or node_id) offers this tool
    (a pipecat direct function of that name the bot supplies, an OpenAI tool with these
    parameters), and moving on after it is the tool's transition. Without one the node is
    compiled from its task and transitions only.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]  # a JSON schema of type object


@dataclass(frozen=True, slots=True)
class Transition:
    """A function the LLM calls to move the call on; `next_node` None runs a tool and stays."""

    function: str
    description: str
    next_node: str | None


@dataclass(frozen=True, slots=True)
class GlobalFunction:
    """A flow `global_functions` entry that is not a transition: the runtime implements it."""

    name: str
    description: str


@dataclass(frozen=True, slots=True)
class GraphNode:
    id: str
    type: str  # say | ask | decision | action | transfer | end (or "start" without a flow)
    role: str  # the system instruction while in the node: global prompt + node trainings
    task: str  # what the LLM should do in the node
    say: str | None  # spoken (TTS) on entering the node, before the LLM
    respond_immediately: bool
    transitions: list[Transition]
    action_id: str | None
    action_tool: ActionTool | None
    ends_call: bool
    transfer_to: str | None  # a transfer node's destination, if the flow gives one
    training_ids: list[str]


@dataclass(frozen=True, slots=True)
class FlowGraph:
    initial_node: str
    nodes: dict[str, GraphNode]
    global_transitions: list[Transition]
    global_functions: list[GlobalFunction]
    # Active actions that no `action` node offers: tools of every node.
    global_actions: list[ActionTool] = field(default_factory=list)


def _function_name(prefix: str, value: str, taken: set[str]) -> str:
    base = f"{prefix}_{_NOT_NAME.sub('_', value).strip('_').lower() or 'step'}"
    base = base[:FUNCTION_NAME_MAX]
    name, n = base, 2
    while name in taken:
        suffix = f"_{n}"
        name, n = base[: FUNCTION_NAME_MAX - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def _quote(text: str) -> str:
    return '"' + " ".join(text.split()) + '"'


def _node_transitions(node: Mapping[str, Any], taken: set[str], after: str) -> list[Transition]:
    """One function per branch (or one for `next`), named and described for the LLM."""
    transitions: list[Transition] = []
    for branch in node.get("branches") or []:
        match, target = str(branch["match"]), str(branch["next"])
        transitions.append(
            Transition(
                function=_function_name("choose", match, taken),
                description=f"Call this when the caller's answer is {_quote(match)}. "
                f"It moves the call to the step '{target}'.",
                next_node=target,
            )
        )
    if node.get("next") and not transitions:
        target = str(node["next"])
        transitions.append(
            Transition(
                function=_function_name("go_to", target, taken),
                description=f"Call this {after}. It moves the call to the step '{target}'.",
                next_node=target,
            )
        )
    return transitions


def _task(node: Mapping[str, Any], transitions: list[Transition], tool: ActionTool | None) -> str:
    kind, content = node["type"], (node.get("content") or "").strip()
    names = " or ".join(f"`{t.function}`" for t in transitions)
    if kind == "say":
        return (
            f"You have just said to the caller: {_quote(content)}. Wait for the caller's reply, "
            f"then call {names}."
        )
    if kind == "ask":
        return f"Ask the caller: {_quote(content)}. When they have answered, call {names}" + (
            ", the one that matches their answer." if len(transitions) > 1 else "."
        )
    if kind == "decision":
        about = f" ({content})" if content else ""
        choices = "; ".join(f"`{t.function}`: {t.description}" for t in transitions)
        return (
            f"Decide from what the caller said{about} which case applies, and call exactly one "
            f"function: {choices}"
        )
    if kind == "action":
        what = f"Carry out the action '{node.get('action_id')}'" + (
            f": {content}" if content else "."
        )
        if tool is not None:
            return f"{what} Call `{tool.name}` with what the caller told you."
        return f"{what} When it is done, call {names}." if names else what
    if kind == "transfer":
        return "Tell the caller you are transferring the call now."
    return "The conversation is over: say a short goodbye."


def _graph_node(
    node: Mapping[str, Any],
    role: str,
    blocks: list[Block],
    taken: set[str],
    action_tools: Mapping[str, ActionTool],
) -> GraphNode:
    kind = str(node["type"])
    content = (node.get("content") or "").strip() or None
    after = {"say": "once the caller has replied", "ask": "once the caller has answered"}.get(
        kind, "once this step is done"
    )
    transitions = _node_transitions(node, taken, after)
    action_id = str(node["action_id"]) if kind == "action" and node.get("action_id") else None
    tool = action_tools.get(action_id) if action_id else None
    if tool is not None:
        taken.add(tool.name)
    speaks_first = kind in ("say", "transfer", "end") and content is not None
    return GraphNode(
        id=str(node["id"]),
        type=kind,
        role="\n\n".join([p for p in [role, *(b.text for b in blocks)] if p]) or DEFAULT_ROLE,
        task=_task(node, transitions, tool),
        say=content if speaks_first else None,
        # A spoken step waits for the caller; every other step lets the LLM speak.
        respond_immediately=not speaks_first,
        transitions=transitions,
        action_id=action_id,
        action_tool=tool,
        ends_call=kind == "end",
        transfer_to=str(node["destination"]) if kind == "transfer" and node.get("destination")
        else None,
        training_ids=[b.training_id for b in blocks],
    )  # fmt: skip


# Talkover's common global functions that are moves to a step of their own; any other name is a
# function the runtime implements.
_GLOBAL_STEPS = {"end_conversation": "end", "transfer_call": "transfer"}


def _build_graph(
    flow_config: Mapping[str, Any],
    role: str,
    nodes: dict[str, list[Block]],
    action_tools: Mapping[str, ActionTool],
) -> FlowGraph:
    node_ids = {str(n["id"]) for n in flow_config["nodes"]}
    global_taken: set[str] = set()
    global_transitions: list[Transition] = []
    global_functions: list[GlobalFunction] = []
    extra_nodes: list[dict[str, Any]] = []
    for entry in flow_config.get("global_functions") or []:
        name, description = str(entry["name"]), str(entry.get("description") or entry["name"])
        kind = _GLOBAL_STEPS.get(name)
        if kind is None:
            global_taken.add(name)
            global_functions.append(GlobalFunction(name, description))
            continue
        step, n = name, 2
        while step in node_ids:
            step, n = f"{name}_{n}", n + 1
        node_ids.add(step)
        extra_nodes.append({"id": step, "type": kind})
        global_taken.add(name)
        global_transitions.append(Transition(name, description, step))
    graph: dict[str, GraphNode] = {}
    for node in [*flow_config["nodes"], *extra_nodes]:
        taken = set(global_taken)
        built = _graph_node(node, role, nodes.get(str(node["id"]), []), taken, action_tools)
        graph[built.id] = built
    return FlowGraph(str(flow_config["initial_node_id"]), graph, global_transitions,
                     global_functions)  # fmt: skip


def _start_graph(role: str, settings: Mapping[str, Any]) -> FlowGraph:
    """An agent without a flow: one node, every training in its role."""
    initial_message = settings.get("initial_message")
    agent_first = settings.get("who_speaks_first", "agent") == "agent"
    say = initial_message if agent_first and initial_message else None
    start = GraphNode(
        id=START_NODE,
        type="start",
        role=role,
        task=START_TASK,
        say=say,
        # The LLM opens only when the agent speaks first with no fixed greeting.
        respond_immediately=agent_first and not initial_message,
        transitions=[],
        action_id=None,
        action_tool=None,
        ends_call=False,
        transfer_to=None,
        training_ids=[],
    )
    return FlowGraph(START_NODE, {START_NODE: start}, [], [])


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
        graph: FlowGraph,
        flow_driven: bool,
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
        self.graph = graph
        self.flow_driven = flow_driven
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

    def node_messages(self, node: GraphNode) -> list[dict[str, str]]:
        """The system messages an OpenAI-style runtime sends while the call is in `node`."""
        messages = [{"role": "system", "content": node.role}] if node.role else []
        if self.flow_driven:
            messages.append({"role": "system", "content": node.task})
        return messages

    def node_tools(self, node: GraphNode) -> list[dict[str, Any]]:
        """The node's functions (its own, then the flow's global ones) as OpenAI tools."""

        def tool(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
            function = {"name": name, "description": description, "parameters": dict(parameters)}
            return {"type": "function", "function": function}

        empty: dict[str, Any] = {"type": "object", "properties": {}}
        tools = []
        if node.action_tool is not None:
            # The action's tool is the node's way on (pipecat: its transition_to).
            t = node.action_tool
            tools.append(tool(t.name, t.description, t.parameters))
        else:
            tools += [tool(t.function, t.description, empty) for t in node.transitions]
        tools += [tool(t.function, t.description, empty) for t in self.graph.global_transitions]
        tools += [tool(f.name, f.description, empty) for f in self.graph.global_functions]
        tools += [tool(a.name, a.description, a.parameters) for a in self.graph.global_actions]
        return tools

    def _transitions(self, node: GraphNode) -> dict[str, str | None]:
        """Function name -> the node it moves the call to (None: the call stays)."""
        moves = {t.function: t.next_node for t in self.graph.global_transitions}
        if node.action_tool is not None:
            next_node = node.transitions[0].next_node if node.transitions else None
            return {node.action_tool.name: next_node, **moves}
        return {**{t.function: t.next_node for t in node.transitions}, **moves}

    def _openai_messages(self) -> dict[str, Any]:
        graph = self.graph
        initial = graph.nodes[graph.initial_node]
        return {
            "agent_id": self.agent_id,
            "config_hash": self.config_hash,
            "temperature": self.settings.get("llm_temperature"),
            "conversation_mode": "flow_driven" if self.flow_driven else "llm_driven",
            "initial_node": graph.initial_node,
            # Where a call starts: the initial node's messages and tools.
            "messages": self.node_messages(initial),
            "tools": self.node_tools(initial),
            "nodes": {
                node.id: {
                    "type": node.type,
                    "messages": self.node_messages(node),
                    "tools": self.node_tools(node),
                    "say": node.say,
                    "transitions": self._transitions(node),
                    "action_id": node.action_id,
                    "ends_call": node.ends_call,
                    "transfer_to": node.transfer_to,
                }
                for node in graph.nodes.values()
            },
            "retrieval": {
                "mode": self.mode.value,
                "endpoint": self.native["budget"]["retrieve_endpoint"],
            },
            # How to run each action tool (by tool name).
            "actions": self.native["actions"],
        }

    def _pipecat_flows(self) -> dict[str, Any]:
        """A dict pipecat's `FlowConfig.model_validate` accepts and a FlowManager runs."""
        graph = self.graph

        def function(t: Transition) -> dict[str, Any]:
            return {"name": t.function, "transition_only": True, "description": t.description,
                    "transition_to": t.next_node}  # fmt: skip

        nodes: dict[str, Any] = {}
        for node in graph.nodes.values():
            out: dict[str, Any] = {
                "task_messages": [{"role": "developer", "content": escape_placeholders(node.task)}]
            }
            if node.role:
                out["role_message"] = escape_placeholders(node.role)
            functions = []
            if node.action_tool is not None:
                # A direct function of this name, from the bot's handlers.
                tool: dict[str, Any] = {"name": node.action_tool.name}
                if node.transitions:
                    tool["transition_to"] = node.transitions[0].next_node
                functions.append(tool)
            else:
                functions += [function(t) for t in node.transitions]
            if functions:
                out["functions"] = functions
            pre: list[dict[str, Any]] = []
            post: list[dict[str, Any]] = []
            if node.ends_call and node.say:
                pre.append({"type": "end_conversation", "text": node.say})
            elif node.say:
                pre.append({"type": "tts_say", "text": escape_placeholders(node.say)})
            if node.type == "transfer":
                # Telephony is the runtime's: `flow_manager.register_action("transfer_call", ...)`.
                pre.append({"type": "transfer_call", "destination": node.transfer_to})
            if node.ends_call and not node.say:
                post.append({"type": "end_conversation"})
            if pre:
                out["pre_actions"] = pre
            if post:
                out["post_actions"] = post
            out["respond_immediately"] = node.respond_immediately
            nodes[node.id] = out
        document: dict[str, Any] = {"initial_node": graph.initial_node, "nodes": nodes}
        globals_ = [function(t) for t in graph.global_transitions]
        globals_ += [{"name": f.name} for f in graph.global_functions]
        # Actions no action node offers are global: direct functions the bot supplies by name.
        globals_ += [{"name": a.name} for a in graph.global_actions]
        if globals_:
            document["global_functions"] = globals_
        return document


# pipecat-flows fills `{{ key }}` from its state when a node is entered and raises on a key it
# does not have; `\{{ key }}` stays literal. Training text is prose, never a template: escape it.
_PLACEHOLDER = re.compile(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\s*\}\}")


def escape_placeholders(text: str) -> str:
    return _PLACEHOLDER.sub(lambda match: "\\" + match.group(0), text)


def retrieve_path(agent_id: str) -> str:
    return f"/api/v1/agents/{agent_id}/runtime/retrieve"


def flow_of(snapshot: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The snapshot's flow_config when the agent is flow-driven (snapshots before flows: None)."""
    flow = snapshot.get("flow") or {}
    if flow.get("conversation_mode") == "flow_driven" and flow.get("flow_config"):
        config: Mapping[str, Any] = flow["flow_config"]
        return config
    return None


def compile_snapshot(snapshot: Mapping[str, Any]) -> Compiled:
    """Compile a snapshot (`{"agent": {...}, "trainings": [...], "flow": {...}, "actions": [...]}`).

    An `action` node offers the active action its `action_id` names (by the action's id or its
    node_id); every other active action is a tool of every node.
    """
    agent: Mapping[str, Any] = snapshot["agent"]
    agent_id = str(agent["id"])
    settings = {name: agent.get(name) for name in RUNTIME_SETTINGS}
    settings.update(agent_config.runtime_settings(agent))
    budget_tokens = int(agent.get("training_budget_tokens") or DEFAULT_BUDGET_TOKENS)
    flow_config = flow_of(snapshot)
    flow_nodes = {str(n["id"]) for n in flow_config["nodes"]} if flow_config else set()
    active = [t for t in snapshot["trainings"] if t["current_status"] == "active"]
    blocks = [
        Block(
            training_id=str(t["id"]),
            node_id=t.get("node_id"),
            subject=t["subject"],
            instructions=t["instructions"],
            pinned=bool(t.get("pinned")),
            text=(text := render_block(t["subject"], t["instructions"])),
            tokens=training_tokens(text),
            order=order,
        )
        for order, t in enumerate(stable_order(active))
    ]
    # node_id is the training's identity; only a node of the agent's flow makes it node-scoped.
    global_blocks = [b for b in blocks if b.node_id not in flow_nodes]
    nodes: dict[str, list[Block]] = {}
    for block in sorted((b for b in blocks if b.node_id in flow_nodes), key=_node_key):
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
    tools = agent_config.tools(agent_id, snapshot.get("actions") or [])
    action_tools: dict[str, ActionTool] = {}
    for t in tools:
        tool = ActionTool(t.name, t.description, t.parameters)
        action_tools[t.node_id] = action_tools[str(t.run["action_id"])] = tool
    graph = (
        _build_graph(flow_config, system_prompt, nodes, action_tools)
        if flow_config
        else _start_graph(system_prompt, settings)
    )
    placed = {n.action_tool.name for n in graph.nodes.values() if n.action_tool is not None}
    graph = replace(
        graph,
        global_actions=[action_tools[t.node_id] for t in tools if t.name not in placed],
    )
    node_tokens = {node_id: sum(b.tokens for b in node) for node_id, node in nodes.items()}
    system_tokens = count_tokens(system_prompt)
    inline_tokens = sum(b.tokens for b in system_blocks) + sum(node_tokens.values())

    content: dict[str, Any] = {
        "agent_id": agent_id,
        "settings": settings,
        "conversation_mode": "flow_driven" if flow_config else "llm_driven",
        "system_prompt": system_prompt,
        "system_training_ids": [b.training_id for b in system_blocks],
        # Flow-scoped trainings, by the flow node they belong to.
        "nodes": {
            node_id: {
                "task_messages": [{"role": "system", "content": b.text} for b in node],
                "training_ids": [b.training_id for b in node],
            }
            for node_id, node in nodes.items()
        },
        "flow": _native_flow(graph) if flow_config else None,
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
        graph=graph,
        flow_driven=flow_config is not None,
        native=native,
    )


def _native_flow(graph: FlowGraph) -> dict[str, Any]:
    """The compiled graph as data: what every node says, asks, and where each function leads."""
    return {
        "initial_node": graph.initial_node,
        "nodes": {
            node.id: {
                "type": node.type,
                "say": node.say,
                "task": node.task,
                "respond_immediately": node.respond_immediately,
                "training_ids": node.training_ids,
                "transitions": [
                    {"function": t.function, "description": t.description, "next": t.next_node}
                    for t in node.transitions
                ],
                "action_id": node.action_id,
                # In full: the hash must change when an action's tool does.
                "action_tool": {"name": node.action_tool.name,
                                "description": node.action_tool.description,
                                "parameters": dict(node.action_tool.parameters)}
                if node.action_tool else None,
                "ends_call": node.ends_call,
                "transfer_to": node.transfer_to,
            }
            for node in graph.nodes.values()
        },
        "global_functions": [
            *({"name": t.function, "description": t.description, "next": t.next_node}
              for t in graph.global_transitions),
            *({"name": f.name, "description": f.description, "next": None}
              for f in graph.global_functions),
        ],
    }  # fmt: skip


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
                    "message": f"Pinned and flow-node trainings need up to "
                    f"{pinned + largest_node} tokens inline, more than the budget of "
                    f"{budget_tokens}; they stay inline and leave no room for retrieved trainings.",
                }
            )
    return warnings
