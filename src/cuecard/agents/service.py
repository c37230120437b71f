"""The agent record: tenancy (every query on an agent starts here), and the writes to its row
that every package under the agent shares (settings, and the draft reset on change)."""

from __future__ import annotations

import uuid
from typing import Any

from cuecard.agents import repository
from cuecard.agents import settings as agent_settings
from cuecard.agents.repository import AgentRow
from cuecard.auth.service import Caller
from cuecard.core.db import UnitOfWork, utcnow
from cuecard.core.errors import NotFound


class AgentNotFound(NotFound):
    code = "AGENT_NOT_FOUND"
    message = "Agent not found"


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


async def scoped_agent(uow: UnitOfWork, caller: Caller, agent_id: str) -> AgentRow:
    """The agent if it is the caller's; otherwise 404, whether it exists elsewhere or not."""
    row = None
    if _is_uuid(agent_id):
        row = await repository.scoped(uow, caller.environment_id, agent_id.lower())
    if row is None:
        raise AgentNotFound()
    return row


def still_there(row: AgentRow | None) -> AgentRow:
    """A write to an agent row found nothing: it was deleted after the request looked it up."""
    if row is None:
        raise AgentNotFound()
    return row


async def save_settings(uow: UnitOfWork, agent_id: str, changes: dict[str, Any]) -> AgentRow | None:
    """Write settings; back to draft when one of them needs a new publish (`resets_draft` in
    the settings table: every setting today, since a version freezes them all)."""
    if any(agent_settings.BY_NAME[name].resets_draft for name in changes):
        return await repository.update_settings_and_reset_draft(uow, agent_id, changes, utcnow())
    return await repository.update_settings_keep_status(uow, agent_id, changes, utcnow())


async def mark_draft(uow: UnitOfWork, agent_id: str) -> AgentRow:
    """Record a change under the agent: back to draft, new draft revision.

    Call it before writing anything under the agent: it takes the agent row first (the lock
    order every write follows, publish included) and 404s if the agent was deleted meanwhile.
    """
    return still_there(
        await repository.update_settings_and_reset_draft(uow, agent_id, {}, utcnow())
    )
