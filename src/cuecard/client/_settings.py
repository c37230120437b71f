"""The agent settings a client may send, mirrored from the server's one declaration
(`cuecard.agents.settings`) without importing it: this package installs without the server.

`tests/agents/test_settings.py` compares the two tables and fails when they drift; the
`AgentSettings` TypedDict and the `Agent` model of `_models.py` are checked against this one.
Use it to check a value before a round trip, or to show a form's bounds and defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AGENT_SETTINGS", "NAME_DEFAULT", "REQUIRED_DEFAULT", "SettingSpec"]


@dataclass(frozen=True, slots=True)
class SettingSpec:
    name: str
    type: str  # "string", "integer", "number" or "boolean"
    # What the server stores when create leaves it out (REQUIRED_DEFAULT: create needs it;
    # NAME_DEFAULT: the agent's name).
    default: Any
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    choices: tuple[str, ...] | None = None


REQUIRED_DEFAULT = "<required>"
NAME_DEFAULT = "<the agent's name>"

_LANGUAGES = ("pt-BR", "pt-PT", "en-US", "en-CA", "es-ES", "fr-FR", "de-DE", "it-IT", "nl-NL",
              "ja-JP", "ko-KR", "zh-TW")  # fmt: skip

# In the server's order.
AGENT_SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("name", "string", REQUIRED_DEFAULT, max_length=255),
    SettingSpec("label", "string", NAME_DEFAULT, max_length=255),
    SettingSpec("description", "string", None, nullable=True),
    SettingSpec("language", "string", "en-US", choices=_LANGUAGES),
    SettingSpec("initial_message", "string", None, nullable=True),
    SettingSpec("interrupt_sensitivity", "string", "medium", choices=("low", "medium", "high")),
    SettingSpec("endpointing_sensitivity", "string", "auto", max_length=255),
    SettingSpec("ivr_navigation_mode", "string", "off", max_length=255),
    SettingSpec("conversation_speed", "number", 1.0, minimum=0.1, maximum=3.0),
    SettingSpec("initial_message_delay", "integer", 0, minimum=0, maximum=60),
    SettingSpec("ask_if_human_present_on_idle", "boolean", False),
    SettingSpec("idle_time_seconds", "integer", 10, minimum=1, maximum=300),
    SettingSpec("max_idle_check_count", "integer", 3, minimum=1, maximum=10),
    SettingSpec("max_call_duration_seconds", "integer", 1800, minimum=1, maximum=3600),
    SettingSpec("say_goodbye_on_max_duration", "boolean", True),
    SettingSpec("user_inactivity_timeout_seconds", "integer", 30, minimum=5, maximum=120),
    SettingSpec("initial_idle_time_seconds", "integer", 5, minimum=1, maximum=60),
    SettingSpec("initial_max_idle_check_count", "integer", 2, minimum=0, maximum=10),
    SettingSpec("llm_temperature", "number", 0.7, minimum=0, maximum=2),
    SettingSpec("enable_recording", "boolean", False),
    SettingSpec("direction", "string", "inbound", choices=("inbound", "outbound")),
    SettingSpec("who_speaks_first", "string", "agent", choices=("agent", "user")),
    SettingSpec("training_budget_tokens", "integer", 2000, minimum=1, maximum=1_000_000),
    SettingSpec("publish_requires_clean_lint", "boolean", False),
    SettingSpec("publish_requires_passing_tests", "boolean", False),
)
