from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer

from cuecard.agent_api.schemas import AdvancedSettings
from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Input


class AdvancedSettingsUpdate(Input):
    enable_initial_message_cache: bool | None = None


class AdvancedSettingsState(BaseModel):
    id: str
    name: str
    advanced_settings: AdvancedSettings
    current_status: str
    updated_at: Timestamp


class Eligibility(BaseModel):
    eligible: bool
    current_calls: int
    required_calls: int
    threshold_days: int
    calls_remaining: int | None = None

    @model_serializer(mode="wrap")
    def _documented(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The eligible answer has no calls_remaining at all.
        data: dict[str, Any] = handler(self)
        if data.get("calls_remaining") is None:
            data.pop("calls_remaining", None)
        return data
