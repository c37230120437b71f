from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainValidator, field_validator
from pydantic_core import PydanticCustomError

from cuecard.core.validation import INT_MAX, Input, Query
from cuecard.runtime.compile import Format

MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 32_000


def _invalid(message: str = "The selected {attribute} is invalid.") -> PydanticCustomError:
    return PydanticCustomError("value_error", "invalid", {"message": message})


def parse_version(value: Any) -> str | int:
    """`draft`, `published`, or a version number (1, 2, ...; as a number or a numeric string)."""
    if isinstance(value, bool):
        raise _invalid()
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("draft", "published"):
            return text
        value = int(text) if text.isascii() and text.isdigit() else None
    if isinstance(value, int) and value > INT_MAX:
        raise _invalid(f"The {{attribute}} field must not be greater than {INT_MAX}.")
    if isinstance(value, int) and value >= 1:
        return value
    raise _invalid()


VersionSelector = Annotated[
    str | int, PlainValidator(parse_version, json_schema_input_type=str | int)
]


class RuntimeConfigQuery(Query):
    version: VersionSelector = "published"
    format: Format = Format.NATIVE


class NumberRuntimeConfigQuery(Query):
    """The runtime config of the agent answering a number: always its published version."""

    format: Format = Format.NATIVE


class ChatMessage(Input):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_MESSAGE_CHARS)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise _invalid("The {attribute} field is required.")
        return value


def _conversation(value: list[ChatMessage]) -> list[ChatMessage]:
    if not value:
        raise _invalid("The {attribute} field must contain at least 1 items.")
    if len(value) > MAX_MESSAGES:
        raise _invalid(f"The {{attribute}} field must not have more than {MAX_MESSAGES} items.")
    return value


class RetrieveRequest(Input):
    """A turn of a call: which version, where in the flow, and the recent conversation."""

    version: VersionSelector = "published"
    node_id: str | None = Field(None, max_length=255)
    messages: list[ChatMessage]
    top_k: int = Field(5, ge=1, le=50)
    budget_tokens: int | None = Field(None, ge=1, le=1_000_000)

    _messages = field_validator("messages")(_conversation)


class ConversationRequest(Input):
    version: VersionSelector = "draft"
    node_id: str | None = Field(None, max_length=255)
    messages: list[ChatMessage]

    _messages = field_validator("messages")(_conversation)


class RetrievedDocument(BaseModel):
    """Shaped like a custom knowledge-base answer (Vapi): one adapter serves every runtime."""

    training_id: str
    subject: str
    content: str
    score: float


class RetrieveResponse(BaseModel):
    success: bool = True
    documents: list[RetrievedDocument]
    version: str | int
    config_hash: str
    mode: str
    budget_tokens: int
    used_tokens: int


class SentMessage(BaseModel):
    role: str
    content: str


class TrainingIds(BaseModel):
    system: list[str]
    node: list[str]
    retrieved: list[str]


class PromptTokens(BaseModel):
    """cl100k_base counts of what was sent (an estimate for other models' tokenizers)."""

    system: int
    node: int
    retrieved: int
    conversation: int
    total: int


class ConversationDebug(BaseModel):
    version: str | int
    config_hash: str
    node_id: str | None
    mode: str
    messages: list[SentMessage]
    training_ids: TrainingIds
    tokens: PromptTokens
    llm_model: str | None
    llm_latency_ms: float | None = None
    llm_usage: dict[str, Any] | None = None


class Reply(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ConversationResult(BaseModel):
    reply: Reply
    finish_reason: str | None
    debug: ConversationDebug
