from __future__ import annotations

from pydantic import Field

from cuecard.agents.settings import Sensitivity
from cuecard.core.validation import Input


class KnowledgeUpdate(Input):
    """PUT .../knowledge, with the rules of its page (stricter than create's)."""

    description: str = Field(min_length=5, max_length=100_000)
    initial_message: str | None = Field(None, min_length=5, max_length=255)
    interrupt_sensitivity: Sensitivity
    ask_if_human_present_on_idle: bool
    llm_temperature: float = Field(ge=0, le=2)
    initial_message_delay: int = Field(ge=0, le=60)
