"""Assigning numbers to an agent: the rules shared by create agent and PUT .../calling.

Imports no agent code, so the Agent object (`agent_api.service`) can call it without a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from cuecard.calling import repository
from cuecard.calling.repository import AgentNumberRow
from cuecard.core.db import UnitOfWork, is_unique_violation
from cuecard.core.errors import ValidationFailed

INVALID = "The selected phone number ids are invalid."


def _canonical(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


async def check(
    uow: UnitOfWork,
    environment_id: str,
    agent_id: str | None,
    ids: Sequence[str],
    direction: str | None,
) -> tuple[list[str], list[str]]:
    """The numbers' ids (deduplicated, in order) and every problem with them.

    Each must be a number of the caller's environment that can carry calls of `direction`; an
    inbound agent may not take a number that already answers for another agent.
    """
    canonical = [_canonical(value) for value in ids]
    if None in canonical:
        return [], [INVALID]
    clean = list(dict.fromkeys(c for c in canonical if c is not None))
    found = {row.id: row for row in await repository.by_ids(uow, environment_id, clean)}
    if len(found) != len(clean):
        return [], [INVALID]
    problems = [
        f"The phone number {found[i].number} is registered for {found[i].direction} "
        f"calls only; it cannot carry {direction} calls."
        for i in clean
        if direction is not None and found[i].direction not in (direction, "both")
    ]
    if direction == "inbound":  # agent_id None: an agent being created, which owns nothing yet
        for owner in await repository.inbound_owners(uow, clean, agent_id or ""):
            problems.append(
                f"The phone number {found[owner.phone_number_id].number} already answers "
                f"inbound calls for the agent {owner.agent_name!r} ({owner.agent_id}); "
                "one inbound number answers for one agent."
            )
    return clean, problems


async def assign(uow: UnitOfWork, agent_id: str, ids: Sequence[str], direction: str) -> None:
    """Replace the agent's numbers (after `check`). A race with another inbound agent for one
    number loses on the unique constraint and gets the same 422 as the check."""
    try:
        await repository.replace_assignments(uow, agent_id, ids, inbound=direction == "inbound")
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        raise ValidationFailed(
            {"phone_number_ids": ["A phone number already answers inbound calls for another "
                                  "agent; one inbound number answers for one agent."]}
        ) from None  # fmt: skip


async def numbers_of(uow: UnitOfWork, agent_id: str) -> list[AgentNumberRow]:
    return await repository.for_agent(uow, agent_id)
