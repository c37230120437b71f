"""Restore and diff of what issue-10 added to a snapshot: actions and phone numbers.

A version published before actions existed has no `actions`/`phone_numbers` keys: restoring it
leaves the agent's actions and numbers as they are, and a diff against it compares nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cuecard.actions import repository as actions_repository
from cuecard.agents.repository import AgentRow
from cuecard.calling import assign
from cuecard.core.db import UnitOfWork, utcnow
from cuecard.snapshots.reader import Snapshot
from cuecard.versions.schemas import ActionChange, ActionRef, ActionsDiff, PhoneNumbersDiff

# What a restore puts back and a diff compares (timestamps are history; secrets never travel).
ACTION_FIELDS = (
    "node_id", "name", "description", "type", "input_schema", "integration", "url",
    "authorization_url", "authorization_scheme", "authorization_header", "custom_headers",
    "speak_on_send", "speak_on_receive", "execution_mode", "hold_duration", "transfer_to",
    "current_status",
)  # fmt: skip


def _row_values(action: dict[str, Any], agent_id: str, now: datetime) -> dict[str, Any]:
    integration = action.get("integration")
    return {
        "id": action["id"],
        "agent_id": agent_id,
        "node_id": action["node_id"],
        "name": action["name"],
        "description": action["description"],
        "type": action["type"],
        "input_schema": json.dumps(action.get("input_schema") or []),
        "integration": integration["id"] if isinstance(integration, dict) else None,
        "url": action.get("url"),
        "authorization_url": action.get("authorization_url"),
        "authorization_scheme": action.get("authorization_scheme") or "none",
        "authorization_header": action.get("authorization_header"),
        "custom_header_keys": json.dumps([h["key"] for h in action.get("custom_headers") or []]),
        "speak_on_send": action.get("speak_on_send"),
        "speak_on_receive": action.get("speak_on_receive"),
        "execution_mode": action.get("execution_mode") or "during_call",
        "hold_duration": action.get("hold_duration"),
        "transfer_to": action.get("transfer_to"),
        "current_status": action["current_status"],
        "created_at": datetime.fromisoformat(action["created_at"]),
        "now": now,
    }


async def restore_actions(uow: UnitOfWork, agent: AgentRow, version: Snapshot
                          ) -> tuple[list[str], list[str], list[str]]:  # fmt: skip
    """(restored, deactivated, deleted) action ids."""
    frozen = version.get("actions")
    if frozen is None:  # a version from before actions
        return [], [], []
    now = utcnow()
    wanted = {a["id"]: a for a in frozen}
    wanted_nodes = {a["node_id"] for a in wanted.values()}
    current = {a.id: a for a in await actions_repository.for_agent(uow, agent.id)}
    deleted = [
        action_id
        for action_id, a in current.items()
        if action_id not in wanted and a.node_id in wanted_nodes
    ]
    deactivated = [
        action_id
        for action_id, a in current.items()
        if action_id not in wanted and action_id not in deleted and a.current_status != "inactive"
    ]
    if deleted:
        await actions_repository.delete_ids(uow, agent.id, deleted)
    if deactivated:
        await actions_repository.set_status(uow, agent.id, deactivated, "inactive", now)
    # Node ids that move between the version's own actions let go first (id is unique).
    moving = [i for i in wanted if i in current and current[i].node_id != wanted[i]["node_id"]]
    if moving:
        await actions_repository.park_node_ids(uow, agent.id, moving)
    if wanted:
        await actions_repository.restore(
            uow, [_row_values(a, agent.id, now) for a in wanted.values()]
        )
    return list(wanted), deactivated, deleted


async def restore_numbers(uow: UnitOfWork, agent: AgentRow, version: Snapshot
                          ) -> tuple[list[str], list[str]]:  # fmt: skip
    """(assigned, skipped) phone number ids. A number gone since, or answering for another
    agent now, is skipped rather than failing the restore."""
    frozen = version.get("phone_numbers")
    if frozen is None:  # a version from before numbers
        return [], []
    direction = str(version["agent"].get("direction") or agent.direction)
    keep: list[str] = []
    skipped: list[str] = []
    for number in frozen:
        clean, problems = await assign.check(
            uow, agent.environment_id, agent.id, [number["id"]], direction
        )
        (skipped if problems else keep).extend([number["id"]] if problems else clean)
    await assign.assign(uow, agent.id, keep, direction)
    return keep, skipped


def diff_actions(old: Mapping[str, Any], new: Mapping[str, Any]) -> ActionsDiff:
    before = {a["id"]: a for a in old.get("actions") or []}
    after = {a["id"]: a for a in new.get("actions") or []}

    def ref(a: dict[str, Any]) -> ActionRef:
        return ActionRef(id=a["id"], node_id=a["node_id"], name=a["name"])

    changed = []
    for action_id, a in after.items():
        if action_id in before:
            fields = [f for f in ACTION_FIELDS if before[action_id].get(f) != a.get(f)]
            if fields:
                changed.append(ActionChange(**ref(a).model_dump(), fields=fields))
    return ActionsDiff(
        added=[ref(a) for i, a in after.items() if i not in before],
        removed=[ref(a) for i, a in before.items() if i not in after],
        changed=changed,
    )


def diff_numbers(old: Mapping[str, Any], new: Mapping[str, Any]) -> PhoneNumbersDiff:
    before = {p["number"] for p in old.get("phone_numbers") or []}
    after = {p["number"] for p in new.get("phone_numbers") or []}
    return PhoneNumbersDiff(added=sorted(after - before), removed=sorted(before - after))
