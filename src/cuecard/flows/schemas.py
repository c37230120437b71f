from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Input


class ConversationMode(StrEnum):
    LLM_DRIVEN = "llm_driven"
    FLOW_DRIVEN = "flow_driven"


class NodeType(StrEnum):
    SAY = "say"
    ASK = "ask"
    DECISION = "decision"
    ACTION = "action"
    TRANSFER = "transfer"
    END = "end"


class FlowUpdate(Input):
    conversation_mode: ConversationMode
    # Checked by `flows.service.flow_errors`, which reports every problem as one sentence.
    flow_config: Any = None


class FlowValidate(Input):
    flow_config: Any


class Flow(BaseModel):
    conversation_mode: ConversationMode
    flow_config: dict[str, Any] | None = Field(description="null when llm_driven.")


class FlowVersion(BaseModel):
    id: str
    version: str = Field(description="flow_config.meta.version, or the save's number.")
    number: int = Field(description="1 for the first save of the agent's flow, then 2, 3, ...")
    conversation_mode: ConversationMode
    created_at: Timestamp
    is_current: bool


class FlowVersionDetail(FlowVersion):
    flow_config: dict[str, Any] | None


class FlowVersions(BaseModel):
    versions: list[FlowVersion]
