from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

from cuecard.actions.schemas import Action
from cuecard.agents import settings
from cuecard.agents.settings import Direction
from cuecard.calling.schemas import AgentPhoneNumber
from cuecard.core.schemas import TimestampText
from cuecard.core.validation import Input, PageNumber, Query
from cuecard.trainings.schemas import Training


class AgentStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class _Settings(Input):
    if TYPE_CHECKING:  # the fields come from the settings table: mypy sees them as Any

        def __getattr__(self, name: str) -> Any: ...


_CreateSettings = create_model(
    "_CreateSettings", __base__=_Settings, **settings.fields(partial=False, leave_out=("name",))
)
_UpdateSettings = create_model(
    "_UpdateSettings", __base__=_Settings, **settings.fields(partial=True)
)


class AgentSettings(_CreateSettings):
    """Every writable agent setting (reference §3.2 and §4.3) with its rule and default."""


class AgentCreate(AgentSettings):
    name: str = Field(max_length=255)
    # Numbers of the caller's environment (`cuecard phone-numbers add`), checked by the service.
    phone_number_ids: list[str] = Field(default_factory=list, max_length=100)


class AgentUpdate(_UpdateSettings):
    """PATCH: every field optional; the ones sent replace the stored values."""


class AgentListQuery(Query):
    status: AgentStatus | None = None
    direction: Direction | None = None
    search: str | None = Field(None, max_length=255)
    page: PageNumber = 1
    per_page: int = Field(20, ge=1, le=100)


class VoiceTemplateRef(BaseModel):
    id: str
    name: str


class AgentVoice(BaseModel):
    """The agent's `voice` object as documented (the id is the template's: Cuecard keeps no
    separate voice record), then Cuecard's additions."""

    id: str
    name: str
    label: str
    stability: float | None
    similarity_boost: float | None
    ambient_background: str | None
    template: VoiceTemplateRef
    ambient_volume: float | None
    quality_tier: str | None
    provider: str | None
    provider_voice_id: str | None


class AdvancedSettings(BaseModel):
    enable_initial_message_cache: bool


class Agent(BaseModel):
    """The Agent object of reference §4.1, then the writable settings of §4.3."""

    id: str
    name: str
    label: str
    description: str | None
    language: str
    voice: AgentVoice | None = None
    initial_message: str | None
    interrupt_sensitivity: str
    conversation_speed: float
    initial_message_delay: int
    ask_if_human_present_on_idle: bool
    direction: str
    who_speaks_first: str
    current_status: AgentStatus
    is_sandbox: bool
    is_ready_to_publish: bool
    created_at: TimestampText
    updated_at: TimestampText
    # The first EMBEDDED_TRAININGS of the list (oldest first); trainings_count says how many
    # there are, and GET .../trainings?page= pages through them all.
    trainings: list[Training]
    trainings_count: int
    actions: list[Action] = Field(default_factory=list)
    phone_numbers: list[AgentPhoneNumber] = Field(default_factory=list)
    endpointing_sensitivity: str
    ivr_navigation_mode: str
    idle_time_seconds: int
    llm_temperature: float
    enable_recording: bool
    max_idle_check_count: int
    max_call_duration_seconds: int
    say_goodbye_on_max_duration: bool
    user_inactivity_timeout_seconds: int
    initial_idle_time_seconds: int
    initial_max_idle_check_count: int
    training_budget_tokens: int
    publish_requires_clean_lint: bool
    publish_requires_passing_tests: bool
    published_version: int | None
    advanced_settings: AdvancedSettings
