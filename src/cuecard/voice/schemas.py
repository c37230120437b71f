from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from cuecard.agents.settings import Language, Speaker
from cuecard.core.validation import Input, Query


class QualityTier(StrEnum):
    BASIC = "basic"
    PRO = "pro"
    ULTRA = "ultra"
    BETA = "beta"


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


# The tiers whose voices take stability and similarity (and require them), as ElevenLabs-style
# voices do; the others refuse them.
HIGH_FIDELITY_TIERS = frozenset({QualityTier.PRO, QualityTier.ULTRA})


class VoiceTemplate(BaseModel):
    """One catalog entry. `provider` and `provider_voice_id` are what a TTS needs."""

    id: str = Field(min_length=1, max_length=255)
    display_name: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=255)
    gender: Gender
    language: Language
    languages: list[Language] = Field(default_factory=list)
    quality_tier: QualityTier
    cost: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$")
    provider: str = Field(min_length=1, max_length=255)
    provider_voice_id: str = Field(min_length=1, max_length=255)
    provider_model: str | None = Field(None, max_length=255)

    def speaks(self, language: str) -> bool:
        return language == self.language or language in self.languages

    @property
    def high_fidelity(self) -> bool:
        return self.quality_tier in HIGH_FIDELITY_TIERS


class VoiceListItem(BaseModel):
    id: str
    name: str
    gender: Gender
    language: Language
    quality_tier: QualityTier
    cost: str
    provider: str
    provider_voice_id: str
    provider_model: str | None
    languages: list[Language]


class VoiceTemplateGroup(BaseModel):
    display_name: str
    voices: list[VoiceListItem]


class VoiceTemplateQuery(Query):
    language: Language | None = None
    quality_tier: QualityTier | None = None
    gender: Gender | None = None


class VoiceUpdate(Input):
    voice_id: str = Field(max_length=255)
    conversation_speed: float = Field(gt=1, lt=2)
    who_speaks_first: Speaker
    ambient_background: str | None = Field(None, max_length=255)
    ambient_volume: float | None = Field(None, ge=0, le=2)
    language: Language | None = None
    similarity: float | None = Field(None, ge=0.5, lt=1)
    stability: float | None = Field(None, ge=0.5, lt=1)
