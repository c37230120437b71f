from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from cuecard.actions.schemas import Action
from cuecard.calling import numbers
from cuecard.core.schemas import Timestamp
from cuecard.core.validation import Input, PageNumber
from cuecard.trainings.schemas import Training


class Language(StrEnum):
    PT_BR = "pt-BR"
    PT_PT = "pt-PT"
    EN_US = "en-US"
    EN_CA = "en-CA"
    ES_ES = "es-ES"
    FR_FR = "fr-FR"
    DE_DE = "de-DE"
    IT_IT = "it-IT"
    NL_NL = "nl-NL"
    JA_JP = "ja-JP"
    KO_KR = "ko-KR"
    ZH_TW = "zh-TW"


class Sensitivity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Speaker(StrEnum):
    AGENT = "agent"
    USER = "user"


class AgentStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class AgentSettings(Input):
    """Every writable agent setting (reference §3.2 and §4.3) with its rule and default."""

    label: str | None = Field(None, max_length=255)
    description: str | None = None
    language: Language = Language.EN_US
    initial_message: str | None = None
    interrupt_sensitivity: Sensitivity = Sensitivity.MEDIUM
    endpointing_sensitivity: str = Field("auto", max_length=255)
    ivr_navigation_mode: str = Field("off", max_length=255)
    conversation_speed: float = Field(1.0, ge=0.1, le=3.0)
    initial_message_delay: int = Field(0, ge=0, le=60)
    ask_if_human_present_on_idle: bool = False
    idle_time_seconds: int = Field(10, ge=1, le=300)
    max_idle_check_count: int = Field(3, ge=1, le=10)
    max_call_duration_seconds: int = Field(1800, ge=1, le=3600)
    say_goodbye_on_max_duration: bool = True
    user_inactivity_timeout_seconds: int = Field(30, ge=5, le=120)
    initial_idle_time_seconds: int = Field(5, ge=1, le=60)
    initial_max_idle_check_count: int = Field(2, ge=0, le=10)
    llm_temperature: float = Field(0.7, ge=0, le=2)
    enable_recording: bool = False
    direction: Direction = Direction.INBOUND
    who_speaks_first: Speaker = Speaker.AGENT
    training_budget_tokens: int = Field(2000, ge=1, le=1_000_000)
    # Publish gates (docs/testing-trainings.md): refuse to publish while the linter reports an
    # error, or unless the last test run on this draft passed.
    publish_requires_clean_lint: bool = False
    publish_requires_passing_tests: bool = False


class AgentCreate(AgentSettings):
    name: str = Field(max_length=255)
    # Numbers of the caller's environment (`cuecard phone-numbers add`), checked by the service.
    phone_number_ids: list[str] = Field(default_factory=list, max_length=100)


class AgentUpdate(Input):
    """PATCH: every field optional; the ones sent replace the stored values."""

    name: str | None = Field(None, max_length=255)
    label: str | None = Field(None, max_length=255)
    description: str | None = None
    language: Language | None = None
    initial_message: str | None = None
    interrupt_sensitivity: Sensitivity | None = None
    endpointing_sensitivity: str | None = Field(None, max_length=255)
    ivr_navigation_mode: str | None = Field(None, max_length=255)
    conversation_speed: float | None = Field(None, ge=0.1, le=3.0)
    initial_message_delay: int | None = Field(None, ge=0, le=60)
    ask_if_human_present_on_idle: bool | None = None
    idle_time_seconds: int | None = Field(None, ge=1, le=300)
    max_idle_check_count: int | None = Field(None, ge=1, le=10)
    max_call_duration_seconds: int | None = Field(None, ge=1, le=3600)
    say_goodbye_on_max_duration: bool | None = None
    user_inactivity_timeout_seconds: int | None = Field(None, ge=5, le=120)
    initial_idle_time_seconds: int | None = Field(None, ge=1, le=60)
    initial_max_idle_check_count: int | None = Field(None, ge=0, le=10)
    llm_temperature: float | None = Field(None, ge=0, le=2)
    enable_recording: bool | None = None
    direction: Direction | None = None
    who_speaks_first: Speaker | None = None
    training_budget_tokens: int | None = Field(None, ge=1, le=1_000_000)
    publish_requires_clean_lint: bool | None = None
    publish_requires_passing_tests: bool | None = None


class AgentListQuery(Input):
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


class AgentPhoneNumber(BaseModel):
    id: str
    number: str
    country_code: str | None
    formatted_number: str
    international_number: str
    current_status: str = "active"
    direction: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AgentPhoneNumber:
        number = str(row["number"])
        return cls(
            id=row["id"],
            number=number,
            country_code=row["country_code"],
            formatted_number=numbers.formatted(number),
            international_number=numbers.international(number),
            direction=row["direction"],
        )


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
    created_at: Timestamp
    updated_at: Timestamp
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


class PublishState(BaseModel):
    """Publish/unpublish responses (reference §3.8), plus the version number."""

    id: str
    name: str
    current_status: AgentStatus
    is_ready_to_publish: bool
    updated_at: Timestamp
    version: int | None
