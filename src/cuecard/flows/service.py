"""Flow rules: Talkover's flow validation, one writer for every save, versions, and the flow as
the runtime and a published snapshot see it.

A save never sets the agent to draft (Talkover: "Updating the flow does not change the agent's
status"); it does bump the agent's draft revision, so the compiled draft follows at once. A
published agent keeps serving the flow its version froze until it is published again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from cuecard.agents import repository as agents_repository
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import AgentNotFound
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.core.db import UnitOfWork, new_id, utcnow
from cuecard.core.errors import AppError, NotFound, ValidationFailed
from cuecard.flows import repository
from cuecard.flows.repository import FlowRow
from cuecard.flows.schemas import (
    ConversationMode,
    Flow,
    FlowUpdate,
    FlowValidate,
    FlowVersion,
    FlowVersionDetail,
    FlowVersions,
    NodeType,
)
from cuecard.webhooks.outbox import emit

MAX_NODES = 500
MAX_BRANCHES = 50
MAX_GLOBAL_FUNCTIONS = 50
MAX_ID_LENGTH = 255
MAX_TEXT_LENGTH = 10_000
# Global functions become LLM tools: OpenAI's rule for a function name.
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TYPES = ", ".join(t.value for t in NodeType)


class FlowInvalid(AppError):
    """Talkover's flow 422: `errors` is a list of sentences, not a field map."""

    status_code = 422
    code = "FLOW_VALIDATION_FAILED"
    message = "Flow validation failed"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(extra={"errors": problems})


class FlowVersionNotFound(NotFound):
    code = "FLOW_VERSION_NOT_FOUND"
    message = "Flow version not found"


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _node_errors(node: dict[str, Any], node_id: str) -> list[str]:
    """The fields a node of its type needs."""
    kind = node.get("type")
    if not isinstance(kind, str) or not kind:
        return [f"Node '{node_id}' is missing 'type'"]
    if kind not in NodeType.__members__.values():
        return [f"Node '{node_id}' has invalid type '{kind}' (expected one of: {_TYPES})"]
    errors: list[str] = []
    content = node.get("content")
    if content is not None and not isinstance(content, str):
        errors.append(f"Node '{node_id}' field 'content' must be a string")
    elif isinstance(content, str) and len(content) > MAX_TEXT_LENGTH:
        errors.append(f"Node '{node_id}' content is longer than {MAX_TEXT_LENGTH} characters")
    required = {
        NodeType.SAY: ("content", "next"),
        NodeType.ASK: ("content",),
        NodeType.ACTION: ("action_id", "next"),
    }.get(NodeType(kind), ())
    for name in required:
        if _text(node.get(name)) is None:
            errors.append(f"Node '{node_id}' of type '{kind}' requires '{name}'")
    branches = node.get("branches")
    if kind == NodeType.ASK and _text(node.get("next")) is None and not branches:
        errors.append(f"Node '{node_id}' of type 'ask' requires 'next' or 'branches'")
    if kind == NodeType.DECISION and not branches:
        errors.append(f"Node '{node_id}' of type 'decision' requires 'branches'")
    if branches is not None and not isinstance(branches, list):
        errors.append(f"Node '{node_id}' field 'branches' must be an array")
    elif branches and len(branches) > MAX_BRANCHES:
        errors.append(f"Node '{node_id}' has more than {MAX_BRANCHES} branches")
    elif branches:
        for j, branch in enumerate(branches):
            if not isinstance(branch, dict):
                errors.append(f"Node '{node_id}' branch {j} must be an object")
                continue
            for name in ("match", "next"):
                if _text(branch.get(name)) is None:
                    errors.append(f"Node '{node_id}' branch {j} requires '{name}'")
    for name in ("next", "action_id", "destination"):
        value = node.get(name)
        if value is not None and not isinstance(value, str):
            errors.append(f"Node '{node_id}' field '{name}' must be a string")
    return errors


def _targets(node: dict[str, Any]) -> list[str]:
    targets = [node["next"]] if isinstance(node.get("next"), str) else []
    branches = node.get("branches")
    if isinstance(branches, list):
        targets += [b["next"] for b in branches if isinstance(b, dict) and _text(b.get("next"))]
    return [t.strip() for t in targets if t.strip()]


def _global_function_errors(functions: Any) -> list[str]:
    if functions is None:
        return []
    if not isinstance(functions, list):
        return ["global_functions must be an array"]
    if len(functions) > MAX_GLOBAL_FUNCTIONS:
        return [f"global_functions has more than {MAX_GLOBAL_FUNCTIONS} entries"]
    errors: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(functions):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            errors.append(f"global_functions[{i}] requires 'name'")
        elif not _FUNCTION_NAME.match(name):
            errors.append(
                f"Global function name '{name[:80]}' must be 1 to 64 letters, digits, '_' or '-'"
            )
        elif name in seen:
            errors.append(f"Duplicate global function: '{name}'")
        else:
            seen.add(name)
            description = entry.get("description")
            if description is not None and not isinstance(description, str):
                errors.append(f"Global function '{name}' field 'description' must be a string")
    return errors


def flow_errors(config: Any, action_ids: Collection[str] | None = None) -> list[str]:
    """Every problem with a flow_config, as Talkover words them; empty when the flow is valid.

    Rules: an object with `nodes` (1 to 500 objects) and `initial_node_id`; unique node ids;
    `initial_node_id` names a node; every `next` and branch target names a node; every node is
    reachable from the initial one; each type has its fields (say: content, next; ask: content
    and next or branches; decision: branches of {match, next}; action: action_id, next; transfer
    and end: nothing more). `action_ids`, when given, are the agent's actions an action node may
    name.
    """
    if not isinstance(config, dict):
        return ["flow_config must be an object"]
    errors: list[str] = []
    initial = config.get("initial_node_id")
    if not isinstance(initial, str) or not initial.strip():
        errors.append("initial_node_id is required")
        initial = None
    meta = config.get("meta")
    if meta is not None and (
        not isinstance(meta, dict)
        or any(not isinstance(meta.get(k), str | None) for k in ("name", "version"))
    ):
        errors.append("meta must be an object with string 'name' and 'version'")
    nodes = config.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        return [*errors, "nodes must be a non-empty array", *_global_function_errors(
            config.get("global_functions"))]  # fmt: skip
    if len(nodes) > MAX_NODES:
        return [*errors, f"nodes has more than {MAX_NODES} entries"]
    by_id: dict[str, dict[str, Any]] = {}
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            errors.append(f"Node at index {i} must be an object")
            continue
        node_id = node.get("id")
        if not isinstance(node_id, str) or not node_id.strip():
            errors.append(f"Node at index {i} is missing 'id'")
            continue
        if len(node_id) > MAX_ID_LENGTH:
            errors.append(f"Node at index {i} has an id longer than {MAX_ID_LENGTH} characters")
            continue
        if node_id in by_id:
            errors.append(f"Duplicate node id: '{node_id}'")
            continue
        by_id[node_id] = node
        errors += _node_errors(node, node_id)
        if action_ids is not None and node.get("type") == NodeType.ACTION:
            action_id = _text(node.get("action_id"))
            if action_id is not None and action_id not in action_ids:
                errors.append(f"Node '{node_id}' references unknown action '{action_id}'")
    if initial is not None and initial not in by_id:
        errors.append(f"initial_node_id '{initial}' not found in nodes")
    for node_id, node in by_id.items():
        for target in _targets(node):
            if target not in by_id:
                errors.append(f"Node '{node_id}' references unknown next node '{target}'")
    if initial in by_id:
        reached, frontier = {initial}, [initial]
        while frontier:
            for target in _targets(by_id[frontier.pop()]):
                if target in by_id and target not in reached:
                    reached.add(target)
                    frontier.append(target)
        errors += [
            f"Node '{node_id}' is unreachable" for node_id in by_id if node_id not in reached
        ]
    return errors + _global_function_errors(config.get("global_functions"))


def _mode_and_config(body: FlowUpdate) -> tuple[ConversationMode, dict[str, Any] | None]:
    if body.conversation_mode is ConversationMode.LLM_DRIVEN:
        return body.conversation_mode, None  # Talkover: flow_config is null in llm_driven mode
    if body.flow_config is None:
        raise ValidationFailed(
            {"flow_config": [
                "The flow config field is required when conversation mode is flow_driven."
            ]}
        )  # fmt: skip
    problems = flow_errors(body.flow_config)
    if problems:
        raise FlowInvalid(problems)
    config: dict[str, Any] = body.flow_config
    return body.conversation_mode, config


def _config(row: FlowRow | None) -> dict[str, Any] | None:
    if row is None or row.flow_config is None:
        return None
    config: dict[str, Any] = json.loads(row.flow_config)
    return config


def to_flow(row: FlowRow | None) -> Flow:
    if row is None:
        return Flow(conversation_mode=ConversationMode.LLM_DRIVEN, flow_config=None)
    return Flow(conversation_mode=ConversationMode(row.conversation_mode), flow_config=_config(row))


async def get_flow(uow: UnitOfWork, agent: AgentRow) -> Flow:
    return to_flow(await repository.current(uow, agent.id))


async def save_flow(
    uow: UnitOfWork, agent_id: str, mode: ConversationMode, config: dict[str, Any] | None
) -> FlowRow:
    """The one writer of flows (update and restore): a new current version, the agent's status
    unchanged, its draft revision bumped. Validation is the caller's."""
    now = utcnow()
    # The agent row first, as every write under an agent does: saves of one agent take turns.
    if await agents_repository.bump_revision_keep_status(uow, agent_id, now) is None:
        raise AgentNotFound()
    meta = config.get("meta") if config else None
    version = meta.get("version") if isinstance(meta, dict) else None
    return await repository.insert_next(
        uow,
        flow_id=new_id(),
        agent_id=agent_id,
        version=version[:255] if isinstance(version, str) and version.strip() else None,
        conversation_mode=mode.value,
        flow_config=json.dumps(config, ensure_ascii=False) if config is not None else None,
        now=now,
    )


async def update_flow(uow: UnitOfWork, caller: Caller, agent: AgentRow, body: FlowUpdate) -> Flow:
    mode, config = _mode_and_config(body)
    row = await save_flow(uow, agent.id, mode, config)
    flow = to_flow(row)
    changes = {"conversation_mode": mode.value, "flow_config": config}
    await audit.record(uow, caller, "flow.updated", agent_id=agent.id, target_type="flow",
                       target_id=row.id, changes=changes)  # fmt: skip
    await emit(uow, agent.id, "event_flow_updated", {"flow": flow.model_dump(mode="json")})
    return flow


def validate_flow(body: FlowValidate) -> None:
    problems = flow_errors(body.flow_config)
    if problems:
        raise FlowInvalid(problems)


def _version(row: FlowRow, current_id: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "version": row.version,
        "number": row.number,
        "conversation_mode": row.conversation_mode,
        "created_at": row.created_at,
        "is_current": row.id == current_id,
    }


async def list_flow_versions(uow: UnitOfWork, agent: AgentRow) -> FlowVersions:
    """The newest saves first (at most `repository.LIST_LIMIT`)."""
    rows = await repository.newest(uow, agent.id)
    current_id = rows[0].id if rows else None
    return FlowVersions(
        versions=[FlowVersion.model_validate(_version(r, current_id)) for r in rows]
    )


async def get_flow_version(uow: UnitOfWork, agent: AgentRow, flow_id: str) -> FlowVersionDetail:
    row = await repository.get(uow, agent.id, flow_id) if len(flow_id) <= 36 else None
    if row is None:
        raise FlowVersionNotFound()
    current = await repository.current(uow, agent.id)
    return FlowVersionDetail.model_validate(
        {**_version(row, current.id if current else None), "flow_config": _config(row)}
    )
