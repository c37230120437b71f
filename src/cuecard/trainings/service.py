"""Training rules: upsert by node_id, status kept unless sent, and every write sets the agent
back to draft in the same transaction."""

from __future__ import annotations

from cuecard.agents.repository import AgentRow
from cuecard.agents.service import mark_draft
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.core.db import UnitOfWork, new_id, utcnow
from cuecard.core.errors import NotFound, ValidationFailed
from cuecard.trainings import repository
from cuecard.trainings.schemas import Training, TrainingCreate, TrainingStatus, encode_trainings
from cuecard.webhooks.outbox import emit


class TrainingNotFound(NotFound):
    code = "TRAINING_NOT_FOUND"
    message = "Training not found"


class TooManyTrainings(ValidationFailed):
    code = "TRAININGS_LIMIT_REACHED"

    def __init__(self, limit: int) -> None:
        super().__init__(
            {"trainings": [f"The trainings field must not have more than {limit} items."]},
            message=f"The agent already has the maximum of {limit} trainings.",
        )


async def list_trainings(
    uow: UnitOfWork, agent: AgentRow, status: TrainingStatus | None = None, *, limit: int
) -> bytes:
    """The whole list as the JSON array of Training objects, at most `limit` long (the
    per-agent maximum: a list that was complete when the agent was filled stays complete)."""
    return encode_trainings(await repository.for_agent(uow, agent.id, status, limit=limit))


async def page_trainings(
    uow: UnitOfWork, agent: AgentRow, status: TrainingStatus | None, *, page: int, per_page: int
) -> tuple[list[Training], int]:
    """One page of the list, in the same order, and the number of trainings in the list."""
    total = await repository.count(uow, agent.id, status)
    rows = await repository.for_agent(
        uow, agent.id, status, limit=per_page, offset=(page - 1) * per_page
    )
    return Training.from_rows(rows), total


async def upsert_training(
    uow: UnitOfWork, caller: Caller, agent: AgentRow, data: TrainingCreate, *, max_trainings: int
) -> tuple[Training, bool]:
    """Create the training, or update this agent's training with the same node_id.

    Without a node_id it always creates. On update, fields the request left out (status,
    position, pinned) keep their stored values: an upsert never re-activates a disabled
    training. Creating one past `max_trainings` under the agent is refused (updates are not).
    Returns the training and whether it was created.
    """
    await mark_draft(uow, agent.id)
    candidate_id = new_id()
    row = await repository.upsert(
        uow,
        {
            "id": candidate_id,
            "agent_id": agent.id,
            "node_id": data.node_id,
            "subject": data.subject,
            "instructions": data.instructions,
            "current_status": data.current_status,
            "position": data.position,
            "pinned": data.pinned,
            "now": utcnow(),
        },
    )
    created = row.id == candidate_id
    # Counted after the write, and under the agent row mark_draft locked: concurrent creates
    # under one agent queue there, so the limit holds without a check-then-insert race.
    if created and await repository.more_than(uow, agent.id, max_trainings):
        raise TooManyTrainings(max_trainings)  # rolls the insert back with the request
    training = Training.from_row(row)
    await audit.record(
        uow,
        caller,
        "training.created" if created else "training.updated",
        agent_id=agent.id,
        target_type="training",
        target_id=training.id,
        changes=data.model_dump(mode="json", exclude_none=True),
    )
    await emit(
        uow,
        agent.id,
        "event_training_updated",
        {"training": training.model_dump(mode="json"), "created": created},
    )
    return training, created


async def delete_training(
    uow: UnitOfWork, caller: Caller, agent: AgentRow, training_id: str
) -> None:
    await mark_draft(uow, agent.id)
    if not await repository.delete(uow, agent.id, training_id.lower()):
        raise TrainingNotFound()  # rolls the draft reset back with it
    await audit.record(
        uow,
        caller,
        "training.deleted",
        agent_id=agent.id,
        target_type="training",
        target_id=training_id.lower(),
    )
    await emit(uow, agent.id, "event_training_deleted", {"training": {"id": training_id.lower()}})
