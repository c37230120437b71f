from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import msgspec
from pydantic import BaseModel, Field

from cuecard.actions.repository import ActionRow
from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Input

MAX_INPUTS = 50
MAX_HEADERS = 20
MAX_TEXT = 10_000
MAX_SECRET = 8_192
# Input names become JSON-Schema property names an LLM fills in: keep them identifiers.
INPUT_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
# RFC 9110 token characters.
HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
E164 = r"^\+[1-9][0-9]{6,14}$"


class ActionType(StrEnum):
    WEBHOOK = "webhook"
    TRANSFER = "transfer"
    HOLD = "hold"
    EXTERNAL = "external"


class ActionStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class AuthorizationScheme(StrEnum):
    NONE = "none"
    BEARER = "bearer"
    BASIC = "basic"
    API_KEY = "api_key"
    CUSTOM = "custom"


class ExecutionMode(StrEnum):
    DURING_CALL = "during_call"
    POST_CALL = "post_call"


class InputType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"


class ActionInput(Input):
    """One input. With `value` it is fixed (sent as is, never asked of the LLM)."""

    name: str = Field(max_length=64, pattern=INPUT_NAME)
    type: InputType = InputType.STRING
    required: bool = False
    description: str | None = Field(None, max_length=1000)
    value: Any = None


class CustomHeader(Input):
    key: str = Field(max_length=255, pattern=HEADER_NAME)
    value: str = Field(max_length=MAX_SECRET)


class IntegrationRef(Input):
    id: str = Field(max_length=255)


class ActionCreate(Input):
    """Create/Update Action. Optional fields left out of an update keep their stored values."""

    node_id: str = Field(max_length=255)
    name: str = Field(max_length=255)
    description: str = Field(max_length=MAX_TEXT)
    type: ActionType
    inputs: list[ActionInput] | None = Field(None, max_length=MAX_INPUTS)
    integration: IntegrationRef | None = None
    url: str | None = Field(None, max_length=2048)
    authorization_url: str | None = Field(None, max_length=2048)
    authorization_scheme: AuthorizationScheme | None = None
    # Cuecard: the credential of the scheme (bearer token, `user:password`, API key). Stored
    # encrypted, never returned.
    authorization_token: str | None = Field(None, max_length=MAX_SECRET)
    # Cuecard: the header that carries an `api_key` (default X-API-Key).
    authorization_header: str | None = Field(None, max_length=255, pattern=HEADER_NAME)
    custom_headers: list[CustomHeader] | None = Field(None, max_length=MAX_HEADERS)
    speak_on_send: str | None = Field(None, max_length=1000)
    speak_on_receive: str | None = Field(None, max_length=1000)
    execution_mode: ExecutionMode | None = None
    hold_duration: int | None = Field(None, ge=1, le=3600)
    transfer_to: str | None = Field(None, pattern=E164)
    current_status: ActionStatus | None = None


class HeaderName(BaseModel):
    key: str


class Integration(BaseModel):
    id: str


class Action(BaseModel):
    """The documented Action object, then Cuecard's fields (never a secret: header names and
    whether a token is stored, not their values)."""

    id: str
    name: str
    label: str
    description: str
    type: ActionType
    input_schema: list[dict[str, Any]]
    config: dict[str, Any] | None = None
    action_trigger: dict[str, Any] | None = None
    url: str | None
    authorization_url: str | None
    current_status: ActionStatus
    created_at: Timestamp
    updated_at: Timestamp
    node_id: str
    agent_id: str
    integration: Integration | None
    authorization_scheme: AuthorizationScheme
    authorization_header: str | None
    has_authorization_token: bool
    custom_headers: list[HeaderName]
    speak_on_send: str | None
    speak_on_receive: str | None
    execution_mode: ExecutionMode
    hold_duration: int | None
    transfer_to: str | None

    @classmethod
    def from_row(cls, row: ActionRow) -> Action:
        integration = row.integration
        return cls.model_validate(
            {
                **msgspec.structs.asdict(row),
                "label": row.name,
                "input_schema": json.loads(row.input_schema),
                "integration": {"id": integration} if integration else None,
                "custom_headers": [{"key": k} for k in json.loads(row.custom_header_keys)],
            }
        )


class ActionIntegration(BaseModel):
    identifier: str
    display_name: str
    description: str | None
    category: str | None
    icon_url: str | None


class InvokeRequest(Input):
    arguments: dict[str, Any] = Field(default_factory=dict)


class InvokeResult(BaseModel):
    ok: bool = Field(description="The target answered 2xx.")
    status: int
    body: Any = Field(description="The target's JSON, or its text when it is not JSON.")
    speak: str | None = Field(
        description="speak_on_receive rendered with the response (only on a 2xx answer)."
    )
    duration_ms: float
