"""What a version freezes, built from the agent as it is now: publish stores it, and the draft
is compiled from it (`runtime.service`)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from cuecard.actions import repository as actions_repository
from cuecard.actions.repository import ActionRow
from cuecard.actions.schemas import Action
from cuecard.agents import repository as agents_repository
from cuecard.agents import settings as agent_settings
from cuecard.agents.repository import AgentRow
from cuecard.calling import repository as calling_repository
from cuecard.calling.repository import AgentNumberRow
from cuecard.core.db import UnitOfWork
from cuecard.flows import repository as flows_repository
from cuecard.flows.repository import FlowRow
from cuecard.snapshots.reader import SCHEMA_VERSION
from cuecard.trainings.repository import TrainingRow


def snapshot(
    agent: AgentRow, trainings: list[TrainingRow], flow: FlowRow | None,
    actions: list[ActionRow] | None = None, phone_numbers: list[AgentNumberRow] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What a version freezes: the settings, every training and action with its status, the
    numbers the agent answers, and the flow (the current `agent_flows` row), in the shape of
    `snapshots.reader.SCHEMA_VERSION` (older ones are read by `snapshots.reader.read`). Never
    a secret: actions carry header names, not values."""
    settings = {name: getattr(agent, name) for name in ("id", *agents_repository.SETTINGS)}
    for name, kind in agent_settings.COERCE.items():
        if settings.get(name) is not None:
            settings[name] = kind(settings[name])
    return {
        "schema_version": SCHEMA_VERSION,
        "agent": settings,
        "trainings": [msgspec.structs.asdict(t) for t in trainings],  # the Training objects
        "flow": flows_repository.snapshot_of(flow),
        "actions": [Action.from_row(a).model_dump(mode="json") for a in actions or []],
        "phone_numbers": [
            {"id": p.id, "number": p.number, "direction": p.direction} for p in phone_numbers or []
        ],
    }


# From this many trainings a snapshot is built in a worker thread (about 4 µs a training):
# below it the hop costs more than it frees the event loop for.
_THREAD_FROM = 200


async def live_snapshot(
    uow: UnitOfWork, agent: AgentRow, trainings: list[TrainingRow]
) -> dict[str, Any]:
    """The snapshot of the agent as it is now (the draft)."""
    parts = (
        agent,
        trainings,
        await flows_repository.current(uow, agent.id),
        await actions_repository.for_agent(uow, agent.id),
        await calling_repository.for_agent(uow, agent.id),
    )
    if len(trainings) < _THREAD_FROM:
        return snapshot(*parts)
    return await asyncio.to_thread(snapshot, *parts)
