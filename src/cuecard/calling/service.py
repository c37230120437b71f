"""Calling rules: the agent's direction and numbers, the environment's number list, the
operator's number registry (CLI), and the inbound lookup a telephony bridge makes."""

from __future__ import annotations

from typing import Any

import msgspec

from cuecard.agents import repository as agents_repository
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import mark_draft, scoped_agent, still_there
from cuecard.audit import service as audit
from cuecard.auth.service import Caller, get_environment
from cuecard.calling import assign, numbers, repository
from cuecard.calling.repository import PhoneNumberRow
from cuecard.calling.schemas import (
    AgentPhoneNumber,
    CallingState,
    CallingUpdate,
    PhoneNumber,
    PhoneNumberQuery,
)
from cuecard.core.db import UnitOfWork, new_id, utcnow
from cuecard.core.errors import Conflict, NotFound, ValidationFailed
from cuecard.core.validation import validate_with


class PhoneNumberNotFound(NotFound):
    code = "PHONE_NUMBER_NOT_FOUND"
    message = "Phone number not found"


class NoAgentForNumber(NotFound):
    code = "NO_AGENT_FOR_NUMBER"
    message = "No agent answers inbound calls on this phone number"


async def update_calling(uow: UnitOfWork, caller: Caller, agent: AgentRow, body: dict[str, Any]
                         ) -> CallingState:  # fmt: skip
    errors: dict[str, list[str]] = {}
    data = validate_with(CallingUpdate, body, errors)
    ids = body.get("phone_number_ids")
    direction = data.direction.value if data else None
    wanted: list[str] = []
    clean: list[str] = []
    if "phone_number_ids" not in errors:
        if isinstance(ids, list):
            wanted = [str(i) for i in ids]
        else:  # left out: keep the agent's numbers
            wanted = [n.id for n in await repository.for_agent(uow, agent.id)]
        clean, problems = await assign.check(
            uow, caller.environment_id, agent.id, wanted, direction
        )
        if problems:
            errors["phone_number_ids"] = problems
    if errors or data is None:
        raise ValidationFailed(errors)
    row = still_there(
        await agents_repository.update_settings_and_reset_draft(
            uow, agent.id, {"direction": direction}, utcnow()
        )
    )
    await assign.assign(uow, agent.id, clean, data.direction.value)
    changes = {"direction": direction, "phone_number_ids": clean}
    await audit.record(
        uow,
        caller,
        "agent.calling_updated",
        agent_id=agent.id,
        target_type="agent",
        target_id=agent.id,
        changes=audit.changed(agent, changes),
    )
    found = await repository.for_agent(uow, agent.id)
    return CallingState(
        id=row.id,
        name=row.name,
        direction=row.direction,
        current_status=row.current_status,
        phone_numbers=[AgentPhoneNumber.from_row(n) for n in found],
        updated_at=row.updated_at,
    )


def _phone_number(row: PhoneNumberRow, agent_ids: list[str]) -> PhoneNumber:
    number = row.number
    return PhoneNumber.model_validate(
        {
            **msgspec.structs.asdict(row),
            "formatted_number": numbers.formatted(number),
            "international_number": numbers.international(number),
            "agent_ids": agent_ids,
        }
    )


async def list_phone_numbers(uow: UnitOfWork, caller: Caller, query: PhoneNumberQuery
                             ) -> list[PhoneNumber]:  # fmt: skip
    # Every Cuecard number is a voice number without SMS or WhatsApp.
    if query.type not in (None, "voice") or query.has_voice is False or query.has_whatsapp:
        return []
    rows = await repository.page(uow, caller.environment_id, query.search, query.direction)
    owners = await repository.agents_of(uow, [r.id for r in rows])
    return [_phone_number(row, owners.get(row.id, [])) for row in rows]


# The operator's registry (`cuecard phone-numbers ...`): by environment name, not token.


async def add_number(
    uow: UnitOfWork, environment: str, number: str, direction: str, label: str | None,
    country_code: str | None,
) -> PhoneNumber:  # fmt: skip
    normalized = numbers.normalize(number)
    if normalized is None:
        raise ValidationFailed(
            {"number": [f"{number!r} is not a phone number in E.164 form (+15551234567)."]}
        )
    environment_id = (await get_environment(uow, environment)).id
    row = await repository.insert(
        uow,
        {
            "id": new_id(),
            "environment_id": environment_id,
            "number": normalized,
            "country_code": country_code or numbers.country_of(normalized),
            "direction": direction,
            "label": label,
            "now": utcnow(),
        },
    )
    if row is None:
        raise Conflict(f"The number {normalized} is already registered.", code="NUMBER_TAKEN")
    return _phone_number(row, [])


async def list_numbers(uow: UnitOfWork, environment: str | None) -> list[tuple[str, PhoneNumber]]:
    rows = await repository.all_numbers(uow, environment)
    owners = await repository.agents_of(uow, [r.id for r in rows])
    return [(r.environment, _phone_number(r, owners.get(r.id, []))) for r in rows]


async def remove_number(uow: UnitOfWork, number_or_id: str) -> str:
    """Delete a number; the agents it was assigned to go back to draft (their config changed)."""
    row = await repository.by_number(uow, numbers.normalize(number_or_id) or "")
    if row is None:
        row = await repository.by_id(uow, number_or_id)
    if row is None:
        raise PhoneNumberNotFound()
    affected = await repository.delete(uow, row.id)
    for agent_id in affected:
        await mark_draft(uow, agent_id)
    return row.number


async def answering_agent(uow: UnitOfWork, caller: Caller, number: str) -> AgentRow:
    """The caller's agent that answers inbound calls on `number` (E.164), for the telephony
    bridge's one request (`runtime.service.inbound_config`)."""
    normalized = numbers.normalize(number)
    row = await repository.by_number(uow, normalized) if normalized else None
    if row is None or row.environment_id != caller.environment_id:
        raise PhoneNumberNotFound()
    agent_id = await repository.answering_agent(uow, row.id)
    if agent_id is None:
        raise NoAgentForNumber()
    return await scoped_agent(uow, caller, agent_id)
