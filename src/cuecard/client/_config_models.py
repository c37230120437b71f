"""Typed mirrors of the agent-configuration objects: actions, voices, phone numbers, calling,
advanced settings. Unknown fields are kept (`model_extra`), as in `_models`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from cuecard.client._models import _Model

__all__ = [
    "Action",
    "ActionIntegration",
    "AdvancedSettingsState",
    "CallingState",
    "Eligibility",
    "InvokeResult",
    "PhoneNumber",
    "VoiceTemplate",
    "VoiceTemplateGroup",
]

ActionType = Literal["webhook", "transfer", "hold", "external"]


class Action(_Model):
    id: str
    name: str
    label: str
    description: str
    type: ActionType
    input_schema: list[dict[str, Any]] = Field(default_factory=list)
    config: dict[str, Any] | None = None
    action_trigger: dict[str, Any] | None = None
    url: str | None = None
    authorization_url: str | None = None
    current_status: Literal["active", "inactive"]
    created_at: datetime
    updated_at: datetime
    # Cuecard
    node_id: str | None = None
    integration: dict[str, Any] | None = None
    authorization_scheme: str | None = None
    authorization_header: str | None = None
    has_authorization_token: bool | None = None
    custom_headers: list[dict[str, Any]] = Field(default_factory=list)
    speak_on_send: str | None = None
    speak_on_receive: str | None = None
    execution_mode: str | None = None
    hold_duration: int | None = None
    transfer_to: str | None = None


class ActionIntegration(_Model):
    identifier: str
    display_name: str
    description: str | None = None
    category: str | None = None
    icon_url: str | None = None


class InvokeResult(_Model):
    ok: bool
    status: int
    body: Any = None
    speak: str | None = None
    duration_ms: float | None = None


class VoiceTemplate(_Model):
    id: str
    name: str
    gender: str
    language: str
    quality_tier: str
    cost: str
    provider: str | None = None
    provider_voice_id: str | None = None


class VoiceTemplateGroup(_Model):
    display_name: str
    voices: list[VoiceTemplate]


class PhoneNumber(_Model):
    id: str
    number: str
    country_code: str | None = None
    formatted_number: str
    current_status: str
    direction: str | None = None
    label: str | None = None
    agent_ids: list[str] = Field(default_factory=list)


class CallingState(_Model):
    id: str
    name: str
    direction: str
    current_status: str
    phone_numbers: list[dict[str, Any]] = Field(default_factory=list)
    updated_at: datetime


class AdvancedSettingsState(_Model):
    id: str
    name: str
    advanced_settings: dict[str, Any]
    updated_at: datetime


class Eligibility(_Model):
    eligible: bool
    current_calls: int
    required_calls: int
    threshold_days: int
    calls_remaining: int | None = None
