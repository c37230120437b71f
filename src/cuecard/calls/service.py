"""Call rules: a runtime's reports are stored once each (keyed by the runtime's own event id),
the call events they carry go to the outbox in the same transaction, and the calls API reads them
back in Talkover's shape, with which trainings shaped each turn."""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec

from cuecard.agents.repository import AgentRow
from cuecard.auth.service import Caller
from cuecard.calls import repository
from cuecard.calls.repository import CallRow, ListedCallRow
from cuecard.calls.schemas import (
    FINAL_STATUSES,
    Accepted,
    Call,
    CallAgent,
    CallClose,
    CallDetail,
    CallEventOut,
    CallListQuery,
    CallOpen,
    CallStatus,
    CallWithAgent,
    EventsReport,
    TrainingUsage,
    Turn,
    TurnsReport,
    TurnTraining,
    UsageQuery,
)
from cuecard.core.db import UnitOfWork, format_timestamp, new_id, utcnow
from cuecard.core.errors import Conflict, NotFound
from cuecard.webhooks.events import CALL_CLOSED, CALL_OPENED
from cuecard.webhooks.outbox import emit

# Events that say the callee picked up: an open call moves to `answered`.
_ANSWERING = {"event_phone_call_connected", "event_conversation_started"}


class CallNotFound(NotFound):
    code = "CALL_NOT_FOUND"
    message = "Call not found"


class TrainingNotFound(NotFound):
    code = "TRAINING_NOT_FOUND"
    message = "Training not found"


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def format_phone(number: str | None) -> str | None:
    """North American numbers as `(123) 456-7890`, like the reference's examples; others as is."""
    if number is None:
        return None
    digits = number.removeprefix("+")
    if not digits.isdigit():
        return number
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return number


def _call_fields(row: CallRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "sid": row.sid,
        "to": row.to_number,
        "to_formatted": format_phone(row.to_number),
        "from_": row.from_number,
        "from_formatted": format_phone(row.from_number),
        "is_testing": row.is_testing,
        "direction": row.direction,
        "status": row.status,
        "duration": row.duration,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def to_call(row: CallRow) -> Call:
    return Call(**_call_fields(row))


def _payload_call(row: CallRow) -> dict[str, Any]:
    """The call as webhook payloads carry it."""
    call = to_call(row).model_dump(mode="json", by_alias=True)
    call.update(version=row.version, config_hash=row.config_hash)
    return call


def _context(row: CallRow) -> dict[str, Any] | None:
    return json.loads(row.context) if row.context else None


async def _emit_call_event(
    uow: UnitOfWork, row: CallRow, event: str, extra: dict[str, Any]
) -> None:
    await emit(
        uow, row.agent_id, event, {"call": _payload_call(row), "context": _context(row), **extra}
    )


# --- reports from runtimes ----------------------------------------------------------------------


async def open_call(
    uow: UnitOfWork, caller: Caller, agent: AgentRow, data: CallOpen
) -> tuple[Call, bool]:
    """Open a call, or return the one this event id already opened. Returns (call, created)."""
    now = utcnow()
    call_id = new_id()
    created = await repository.insert_call(
        uow,
        {
            "id": call_id,
            "environment_id": caller.environment_id,
            "agent_id": agent.id,
            "open_event_id": data.event_id,
            "sid": data.sid,
            "direction": data.direction or agent.direction,
            "from_number": data.from_,
            "to_number": data.to,
            "is_testing": data.is_testing,
            "status": data.status,
            "duration": 0,
            "version": data.version,
            "config_hash": data.config_hash,
            "context": json.dumps(data.context) if data.context is not None else None,
            "reported_by_token_id": caller.token_id,
            "ended_at": None,
            "created_at": data.occurred_at or now,
            "updated_at": now,
        },
    )
    row = await repository.by_open_event(uow, caller.environment_id, data.event_id)
    if row is None or row.agent_id != agent.id:
        raise Conflict("This event_id opened a call of another agent.", code="EVENT_ID_IN_USE")
    if created:
        await _emit_call_event(uow, row, CALL_OPENED, {})
    return to_call(row), created


async def _locked_call(uow: UnitOfWork, agent: AgentRow, call_id: str) -> CallRow:
    call_id_ = _uuid(call_id)
    row = await repository.lock(uow, agent.id, call_id_) if call_id_ else None
    if row is None:
        raise CallNotFound()
    return row


async def report_events(
    uow: UnitOfWork, agent: AgentRow, call_id: str, data: EventsReport
) -> Accepted:
    call = await _locked_call(uow, agent, call_id)
    now = utcnow()
    seq = await repository.next_seq(uow, "call_events", call.id)
    accepted = 0
    for report in data.events:
        occurred = report.occurred_at or now
        stored = await repository.insert_event(
            uow,
            {
                "id": new_id(),
                "call_id": call.id,
                "event_id": report.event_id,
                "seq": seq,
                "event": report.event,
                "data": json.dumps(report.data),
                "occurred_at": occurred,
                "created_at": now,
            },
        )
        if not stored:
            continue
        accepted += 1
        seq += 1
        if report.event in _ANSWERING and call.status in (
            CallStatus.INITIATED,
            CallStatus.RINGING,
        ):
            await repository.set_status(uow, call.id, {"status": "answered", "updated_at": now})
            call = msgspec.structs.replace(call, status="answered", updated_at=now)
        await _emit_call_event(
            uow,
            call,
            report.event,
            {"occurred_at": format_timestamp(occurred), "data": report.data},
        )
    return Accepted(accepted=accepted, duplicates=len(data.events) - accepted)


async def report_turns(
    uow: UnitOfWork, agent: AgentRow, call_id: str, data: TurnsReport
) -> Accepted:
    call = await _locked_call(uow, agent, call_id)
    now = utcnow()
    seq = await repository.next_seq(uow, "call_turns", call.id)
    accepted = 0
    for turn in data.turns:
        turn_id = new_id()
        stored = await repository.insert_turn(
            uow,
            {
                "id": turn_id,
                "call_id": call.id,
                "event_id": turn.event_id,
                "seq": seq,
                "node_id": turn.node_id,
                "user_text": turn.user_text,
                "reply_text": turn.reply_text,
                "latency_ms": turn.latency_ms,
                "occurred_at": turn.occurred_at or now,
                "created_at": now,
            },
        )
        if not stored:
            continue
        accepted += 1
        seq += 1
        used = [("inline", t) for t in turn.inline_training_ids]
        used += [("retrieved", t) for t in turn.retrieved_training_ids]
        await repository.insert_turn_trainings(
            uow,
            [
                {
                    "turn_id": turn_id,
                    "training_id": training_id,
                    "source": source,
                    "call_id": call.id,
                    "agent_id": agent.id,
                    "created_at": turn.occurred_at or now,
                }
                for source, training_id in used
            ],
        )
    return Accepted(accepted=accepted, duplicates=len(data.turns) - accepted)


async def close_call(uow: UnitOfWork, agent: AgentRow, call_id: str, data: CallClose) -> Call:
    """Close the call once; closing it again (a retried report) changes nothing."""
    call = await _locked_call(uow, agent, call_id)
    if call.ended_at is not None or call.status in FINAL_STATUSES:
        return to_call(call)
    now = utcnow()
    ended = data.occurred_at or now
    await repository.set_status(
        uow,
        call.id,
        {"status": data.status, "duration": data.duration, "ended_at": ended, "updated_at": now},
    )
    row = msgspec.structs.replace(
        call, status=data.status, duration=data.duration, ended_at=ended, updated_at=now
    )
    await _emit_call_event(uow, row, CALL_CLOSED, {"ended_at": format_timestamp(ended)})
    return to_call(row)


# --- the calls API -----------------------------------------------------------------------------


async def _page(
    uow: UnitOfWork, caller: Caller, query: CallListQuery, agent_id: str | None
) -> tuple[list[ListedCallRow], int]:
    since, before = query.bounds()
    return await repository.page(
        uow,
        caller.environment_id,
        agent_id=agent_id,
        status=query.status,
        direction=query.direction,
        search=query.search,
        since=since,
        before=before,
        limit=query.per_page,
        offset=(query.page - 1) * query.per_page,
    )


async def list_calls(
    uow: UnitOfWork, caller: Caller, query: CallListQuery
) -> tuple[list[CallWithAgent], int]:
    agent_id = None
    if query.agent_id is not None:
        agent_id = _uuid(query.agent_id) or "-"  # an id that is no UUID matches no call
    rows, total = await _page(uow, caller, query, agent_id)
    return [
        CallWithAgent(
            **_call_fields(row),
            agent=CallAgent(id=row.agent_id, name=row.agent_name, label=row.agent_label),
        )
        for row in rows
    ], total


async def list_agent_calls(
    uow: UnitOfWork, caller: Caller, agent: AgentRow, query: CallListQuery
) -> tuple[list[Call], int]:
    rows, total = await _page(uow, caller, query, agent.id)
    return [to_call(row) for row in rows], total


async def get_call(uow: UnitOfWork, agent: AgentRow, call_id: str) -> CallDetail:
    call_id_ = _uuid(call_id)
    row = await repository.get(uow, agent.id, call_id_) if call_id_ else None
    if row is None:
        raise CallNotFound()
    used: dict[str, list[TurnTraining]] = {}
    for u in await repository.turn_trainings(uow, row.id):
        used.setdefault(u.turn_id, []).append(
            TurnTraining(
                id=u.training_id,
                source=u.source,
                subject=u.subject,
                node_id=u.node_id,
                exists=u.found is not None,
            )
        )
    return CallDetail(
        **_call_fields(row),
        agent_id=row.agent_id,
        version=row.version,
        config_hash=row.config_hash,
        context=_context(row),
        ended_at=row.ended_at,
        events=[
            CallEventOut(
                event_id=e.event_id,
                event=e.event,
                occurred_at=e.occurred_at,
                data=json.loads(e.data),
            )
            for e in await repository.events(uow, row.id)
        ],
        turns=[
            Turn(
                seq=t.seq,
                event_id=t.event_id,
                node_id=t.node_id,
                user_text=t.user_text,
                reply_text=t.reply_text,
                latency_ms=t.latency_ms,
                occurred_at=t.occurred_at,
                trainings=used.get(t.id, []),
            )
            for t in await repository.turns(uow, row.id)
        ],
    )


async def training_usage(
    uow: UnitOfWork, agent: AgentRow, training_id: str, query: UsageQuery
) -> TrainingUsage:
    """How often a training shaped a turn over the period, inline and retrieved."""
    since, before = query.bounds()
    training_id_ = _uuid(training_id)
    if training_id_ is None:
        raise TrainingNotFound()
    counts = await repository.usage(uow, agent.id, training_id_, since, before)
    if not counts.turns and not await repository.training_exists(uow, agent.id, training_id_):
        raise TrainingNotFound()
    return TrainingUsage(
        training_id=training_id_,
        date_from=query.date_from.isoformat() if query.date_from else None,
        date_to=query.date_to.isoformat() if query.date_to else None,
        turns=counts.turns,
        inline=counts.inline,
        retrieved=counts.retrieved,
        calls=counts.calls,
    )
