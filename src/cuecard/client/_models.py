"""Typed mirrors of the documented API objects.

Fields the Talkover documentation marks as always present are required; Cuecard's additions
(node_id, position, pinned, the agent's extra settings, version numbers) default to None so the
same models read any Talkover-compatible server. Unknown fields are kept, not dropped: a newer
server's additions stay reachable through `model_extra`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Agent",
    "AgentFlow",
    "AgentSettings",
    "AgentStatus",
    "AgentVersion",
    "ConversationMode",
    "FlowVersion",
    "Page",
    "PageMeta",
    "PublishState",
    "Retrieval",
    "RetrievedDocument",
    "Training",
    "TrainingStatus",
]

T = TypeVar("T")

AgentStatus = Literal["draft", "published"]
TrainingStatus = Literal["active", "inactive"]
ConversationMode = Literal["llm_driven", "flow_driven"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class Training(_Model):
    id: str
    subject: str
    instructions: str
    current_status: TrainingStatus
    created_at: datetime
    updated_at: datetime
    node_id: str | None = None
    agent_id: str | None = None
    position: int | None = None
    pinned: bool = False


class Agent(_Model):
    id: str
    name: str
    label: str
    description: str | None = None
    language: str
    voice: dict[str, Any] | None = None
    initial_message: str | None = None
    interrupt_sensitivity: str
    conversation_speed: float
    initial_message_delay: int
    ask_if_human_present_on_idle: bool
    direction: str
    who_speaks_first: str
    current_status: AgentStatus
    is_sandbox: bool
    is_ready_to_publish: bool
    created_at: datetime
    updated_at: datetime
    # Cuecard embeds the first 100 trainings and counts them all here; `trainings.list()` has
    # every one.
    trainings: list[Training] = Field(default_factory=list)
    trainings_count: int | None = None
    actions: list[dict[str, Any]] = Field(default_factory=list)
    phone_numbers: list[dict[str, Any]] = Field(default_factory=list)
    # Written on create but not echoed by Talkover; Cuecard returns them.
    endpointing_sensitivity: str | None = None
    ivr_navigation_mode: str | None = None
    idle_time_seconds: int | None = None
    llm_temperature: float | None = None
    enable_recording: bool | None = None
    max_idle_check_count: int | None = None
    max_call_duration_seconds: int | None = None
    say_goodbye_on_max_duration: bool | None = None
    user_inactivity_timeout_seconds: int | None = None
    initial_idle_time_seconds: int | None = None
    initial_max_idle_check_count: int | None = None
    training_budget_tokens: int | None = None
    publish_requires_clean_lint: bool | None = None
    publish_requires_passing_tests: bool | None = None
    published_version: int | None = None


class PublishState(_Model):
    """What publish and unpublish answer: a partial agent, plus Cuecard's version number."""

    id: str
    name: str
    current_status: AgentStatus
    is_ready_to_publish: bool
    updated_at: datetime
    version: int | None = None


class PageMeta(_Model):
    current_page: int
    per_page: int
    total: int
    last_page: int


class Page(_Model, Generic[T]):
    """One page of a paginated list; the `list()` methods walk every page for you."""

    data: list[T]
    meta: PageMeta


class AgentVersion(_Model):
    """A published, immutable snapshot of an agent (Cuecard). `snapshot` (the settings and
    every training) comes with `versions.get`, not in lists."""

    version: int
    published_at: datetime
    config_hash: str
    published_by: dict[str, Any] | None = None
    is_latest: bool | None = None
    snapshot: dict[str, Any] | None = None


class AgentFlow(_Model):
    """An agent's conversation mode and flow (`flow_config` is None when llm_driven)."""

    conversation_mode: ConversationMode
    flow_config: dict[str, Any] | None = None


class FlowVersion(_Model):
    """One save of an agent's flow. `flow_config` comes with `flows.version`, not in lists."""

    id: str
    version: str
    created_at: datetime
    is_current: bool
    number: int | None = None
    conversation_mode: ConversationMode | None = None
    flow_config: dict[str, Any] | None = None


class RetrievedDocument(_Model):
    """One training chosen by per-turn retrieval (Cuecard), shaped like Vapi's knowledge base."""

    training_id: str
    subject: str
    content: str
    score: float


class Retrieval(_Model):
    """What per-turn retrieval chose (Cuecard): the documents, and what they were chosen from."""

    documents: list[RetrievedDocument]
    version: str | int | None = None
    config_hash: str | None = None
    mode: str | None = None
    budget_tokens: int | None = None
    used_tokens: int | None = None


class AgentSettings(TypedDict, total=False):
    """Settings accepted by create and update; left out means the server's default (create)
    or unchanged (update)."""

    label: str
    description: str
    language: str
    initial_message: str
    interrupt_sensitivity: Literal["low", "medium", "high"]
    endpointing_sensitivity: str
    ivr_navigation_mode: str
    conversation_speed: float
    initial_message_delay: int
    ask_if_human_present_on_idle: bool
    idle_time_seconds: int
    max_idle_check_count: int
    max_call_duration_seconds: int
    say_goodbye_on_max_duration: bool
    user_inactivity_timeout_seconds: int
    initial_idle_time_seconds: int
    initial_max_idle_check_count: int
    llm_temperature: float
    enable_recording: bool
    direction: Literal["inbound", "outbound"]
    who_speaks_first: Literal["agent", "user"]
    phone_number_ids: list[str]
    training_budget_tokens: int
    publish_requires_clean_lint: bool
    publish_requires_passing_tests: bool
