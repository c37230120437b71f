from __future__ import annotations

import json
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Input, Query
from cuecard.webhooks.events import AVAILABLE_EVENTS

_HEADER_NAME = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
# Headers a delivery sets itself; a custom header may not replace them.
_RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection"}
)
_MAX_TEMPLATES_BYTES = 64 * 1024


class HttpMethod(StrEnum):
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"


class AuthorizationScheme(StrEnum):
    NONE = "none"
    BEARER = "bearer"
    BASIC = "basic"
    API_KEY = "api_key"
    CUSTOM = "custom"


class WebhookStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    ERROR = "error"


class LogStatus(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"
    RETRYING = "retrying"


class CustomHeader(Input):
    key: str = Field(max_length=255)
    value: str = Field(max_length=2000)

    @field_validator("key")
    @classmethod
    def _token(cls, value: str) -> str:
        if not value or not set(value) <= _HEADER_NAME:
            raise PydanticCustomError("value_error", "", {"message": "The {attribute} is invalid."})
        if value.lower() in _RESERVED_HEADERS or value.lower().startswith("x-cuecard-"):
            raise PydanticCustomError(
                "value_error", "", {"message": "The {attribute} is a reserved header."}
            )
        return value


def _url(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise PydanticCustomError(
            "value_error", "", {"message": "The {attribute} must be a valid URL."}
        )
    return value


def _events(value: list[str]) -> list[str]:
    if len(value) < 1:
        raise PydanticCustomError(
            "value_error", "", {"message": "The {attribute} field must contain at least 1 items."}
        )
    unknown = [event for event in value if event not in AVAILABLE_EVENTS]
    if unknown:
        raise PydanticCustomError(
            "value_error", "", {"message": "The selected {attribute} is invalid."}
        )
    return list(dict.fromkeys(value))


def _templates(value: dict[str, Any]) -> dict[str, Any]:
    if any(event not in AVAILABLE_EVENTS for event in value):
        raise PydanticCustomError(
            "value_error", "", {"message": "The {attribute} keys must be available events."}
        )
    if any(not isinstance(template, dict) for template in value.values()):
        raise PydanticCustomError(
            "value_error", "", {"message": "The {attribute} values must be objects."}
        )
    if len(json.dumps(value)) > _MAX_TEMPLATES_BYTES:
        raise PydanticCustomError(
            "value_error", "", {"message": "The {attribute} must not be greater than 64 KB."}
        )
    return value


class WebhookFields(Input):
    """Create and update share the rules; update makes every field optional."""

    webhook_secret: str | None = Field(None, max_length=255)
    http_method: HttpMethod | None = None
    authorization_scheme: AuthorizationScheme | None = None
    # Cuecard extension: the credential the scheme sends (bearer token, "user:password",
    # API key, or a raw Authorization value). Stored encrypted, never echoed.
    authorization_value: str | None = Field(None, max_length=2000)
    custom_headers: list[CustomHeader] | None = Field(None, max_length=20)
    payload_templates: dict[str, Any] | None = None

    @field_validator("payload_templates")
    @classmethod
    def _check_templates(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _templates(value)


class WebhookCreate(WebhookFields):
    name: str = Field(max_length=255)
    webhook_url: str = Field(max_length=500)
    events: list[str] = Field(max_length=len(AVAILABLE_EVENTS) * 2)
    timeout: int = Field(30, ge=5, le=120)
    max_retries: int = Field(3, ge=0, le=10)
    enabled: bool = True

    @field_validator("webhook_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str]) -> list[str]:
        return _events(value)


class WebhookUpdate(WebhookFields):
    name: str | None = Field(None, max_length=255)
    webhook_url: str | None = Field(None, max_length=500)
    events: list[str] | None = Field(None, max_length=len(AVAILABLE_EVENTS) * 2)
    timeout: int | None = Field(None, ge=5, le=120)
    max_retries: int | None = Field(None, ge=0, le=10)
    enabled: bool | None = None

    @field_validator("webhook_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _events(value)


class Webhook(BaseModel):
    """The documented Webhook object, plus http_method, authorization_scheme, payload_templates
    and has_secret (the secret itself is never returned)."""

    id: str
    agent_id: str
    name: str
    webhook_url: str
    events: list[str]
    timeout: int
    max_retries: int
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp
    events_count: int
    status: WebhookStatus
    http_method: HttpMethod
    authorization_scheme: AuthorizationScheme
    payload_templates: dict[str, Any]
    has_secret: bool


class WebhookList(BaseModel):
    webhooks: list[Webhook]
    available_events: dict[str, str]


class TestResult(BaseModel):
    status_code: int | None
    response_time: int


class WebhookLog(BaseModel):
    id: str
    webhook_id: str
    event_id: str
    event: str
    attempt: int
    status: LogStatus
    http_status: int | None
    request_payload: Any
    response_body: str | None
    response_headers: dict[str, str] | None
    error: str | None
    duration_ms: int | None
    original_log_id: str | None
    next_attempt_at: Timestamp | None
    delivered_at: Timestamp | None
    created_at: Timestamp


class LogPagination(BaseModel):
    current_page: int
    per_page: int
    total: int
    last_page: int


class LogPage(BaseModel):
    success: bool = True
    data: list[WebhookLog]
    pagination: LogPagination


class LogListQuery(Query):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(25, ge=1, le=100)


class RetryQueued(BaseModel):
    log_id: str
    original_log_id: str
    queued_at: Timestamp
