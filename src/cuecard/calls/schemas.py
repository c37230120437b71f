from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from cuecard.agents.settings import Direction
from cuecard.audit.schemas import DateRange
from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Input
from cuecard.webhooks.events import CALL_CLOSED, CALL_EVENTS, CALL_OPENED

_MAX_DATA_BYTES = 16 * 1024
_MAX_TEXT = 20_000


class CallStatus(StrEnum):
    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"


OPEN_STATUSES = (CallStatus.INITIATED, CallStatus.RINGING, CallStatus.ANSWERED)
FINAL_STATUSES = (CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.BUSY, CallStatus.NO_ANSWER)


def _small_object(value: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(value, default=str)) > _MAX_DATA_BYTES:
        raise PydanticCustomError(
            "value_error", "", {"message": "The {attribute} must not be greater than 16 KB."}
        )
    return value


def _uuids(value: list[str]) -> list[str]:
    out = []
    for item in value:
        try:
            out.append(str(uuid.UUID(item)))
        except (ValueError, TypeError, AttributeError):
            raise PydanticCustomError(
                "value_error", "", {"message": "The {attribute} must contain valid UUIDs."}
            ) from None
    return list(dict.fromkeys(out))


class CallOpen(Input):
    """A runtime opens a call. `event_id` is the runtime's own id of this report: sent again,
    the same call comes back and nothing is stored twice."""

    event_id: str = Field(max_length=255)
    sid: str | None = Field(None, max_length=255)
    direction: Direction | None = None
    from_: str | None = Field(None, alias="from", max_length=64)
    to: str | None = Field(None, max_length=64)
    is_testing: bool = False
    status: CallStatus = CallStatus.INITIATED
    version: int | None = Field(None, ge=1, le=1_000_000_000)
    config_hash: str | None = Field(None, max_length=64)
    context: dict[str, Any] | None = None
    occurred_at: datetime | None = None

    @field_validator("status")
    @classmethod
    def _opening(cls, value: CallStatus) -> CallStatus:
        if value not in OPEN_STATUSES:
            raise PydanticCustomError("enum", "", {})
        return value

    @field_validator("context")
    @classmethod
    def _context(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _small_object(value)


class EventReport(Input):
    event_id: str = Field(max_length=255)
    event: str = Field(max_length=64)
    occurred_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("event")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CALL_EVENTS or value in (CALL_OPENED, CALL_CLOSED):
            raise PydanticCustomError("enum", "", {})
        return value

    @field_validator("data")
    @classmethod
    def _data(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _small_object(value)


class EventsReport(Input):
    events: list[EventReport] = Field(min_length=1, max_length=100)


class TurnReport(Input):
    event_id: str = Field(max_length=255)
    user_text: str | None = Field(None, max_length=_MAX_TEXT)
    reply_text: str | None = Field(None, max_length=_MAX_TEXT)
    node_id: str | None = Field(None, max_length=255)
    inline_training_ids: list[str] = Field(default_factory=list, max_length=500)
    retrieved_training_ids: list[str] = Field(default_factory=list, max_length=100)
    latency_ms: int | None = Field(None, ge=0, le=3_600_000)
    occurred_at: datetime | None = None

    @field_validator("inline_training_ids", "retrieved_training_ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        return _uuids(value)


class TurnsReport(Input):
    turns: list[TurnReport] = Field(min_length=1, max_length=100)


class CallClose(Input):
    event_id: str = Field(max_length=255)
    status: CallStatus = CallStatus.COMPLETED
    duration: int = Field(ge=0, le=86_400)
    occurred_at: datetime | None = None

    @field_validator("status")
    @classmethod
    def _final(cls, value: CallStatus) -> CallStatus:
        if value not in FINAL_STATUSES:
            raise PydanticCustomError("enum", "", {})
        return value


class Accepted(BaseModel):
    accepted: int
    duplicates: int


class CallAgent(BaseModel):
    id: str
    name: str
    label: str


class Call(BaseModel):
    """Talkover's call object (agent calls omit `agent`)."""

    model_config = {"populate_by_name": True}

    id: str
    sid: str | None
    to: str | None
    to_formatted: str | None
    from_: str | None = Field(serialization_alias="from")
    from_formatted: str | None
    is_testing: bool
    direction: Direction
    status: CallStatus
    duration: int
    created_at: Timestamp
    updated_at: Timestamp


class CallWithAgent(Call):
    agent: CallAgent


class TurnTraining(BaseModel):
    id: str
    source: str
    subject: str | None
    node_id: str | None
    exists: bool


class Turn(BaseModel):
    seq: int
    event_id: str
    node_id: str | None
    user_text: str | None
    reply_text: str | None
    latency_ms: int | None
    occurred_at: Timestamp
    trainings: list[TurnTraining]


class CallEventOut(BaseModel):
    event_id: str
    event: str
    occurred_at: Timestamp
    data: dict[str, Any]


class CallDetail(Call):
    """A Cuecard extension: what the runtime loaded, and per turn which trainings shaped it."""

    agent_id: str
    version: int | None
    config_hash: str | None
    context: dict[str, Any] | None
    ended_at: Timestamp | None
    events: list[CallEventOut]
    turns: list[Turn]


class CallListQuery(DateRange):
    status: CallStatus | None = None
    direction: Direction | None = None
    agent_id: str | None = Field(None, max_length=64)
    search: str | None = Field(None, max_length=255)
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=100)


class Pagination(BaseModel):
    current_page: int
    last_page: int
    per_page: int
    total: int
    from_: int | None = Field(serialization_alias="from")
    to: int | None


class UsageQuery(DateRange):
    pass


class TrainingUsage(BaseModel):
    training_id: str
    date_from: str | None
    date_to: str | None
    turns: int
    inline: int
    retrieved: int
    calls: int
