"""Every agent setting, declared once.

One row per column of `agents` that a version freezes. The create and update bodies (and so the
OpenAPI document), the repository's column list, the snapshot's coercions and the settings a
voice runtime gets are all built from `SETTINGS`; `cuecard.client._settings` mirrors the rows a
client may send, and `tests/agents/test_settings.py` fails when the two drift.

Adding a setting: a column in `models/agent.py` (and a migration), one `Setting(...)` row here,
the same row in `client/_settings.py`, and the field in the read model `schemas.Agent` (which
keeps Talkover's documented field order, so it is declared by hand and tested against this).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field


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


# The default of a setting the create body must carry.
REQUIRED: Any = ...


class _AgentName:
    def __repr__(self) -> str:
        return "AGENT_NAME"


# The default of a setting that takes the agent's name when left out (the label).
AGENT_NAME: Any = _AgentName()


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    type: type[Any]  # str, int, float, bool or a StrEnum
    default: Any = None  # what create stores when the field is left out (REQUIRED: none)
    nullable: bool = False  # may be stored NULL
    ge: float | None = None
    le: float | None = None
    max_length: int | None = None
    # Talkover's 422 message for a value that breaks the rule (bounds, choices, length or type),
    # as `core/validation.py` words it; tests send such a value and expect exactly this.
    message: str | None = None
    # Accepted by Create and Update Agent. The others are written by their own endpoints
    # (PUT .../voice, PATCH .../advanced-settings) and frozen by publish like the rest.
    api: bool = True
    # Changing it needs a new publish (every setting does: each is part of what a version
    # freezes); `agents.repository` picks the draft-resetting write only for these.
    resets_draft: bool = True
    # A voice runtime gets it as is in the compiled config's `settings` (compile.py), at this
    # place (the order the config always had); None: it does not. The voice columns and the
    # cache flag reach it shaped, through `runtime/agent_config.py`.
    runtime_order: int | None = None

    @property
    def reaches_runtime(self) -> bool:
        return self.runtime_order is not None

    def field(self, *, partial: bool) -> tuple[Any, Any]:
        """The pydantic field: create's (`partial=False`) or update's (optional, no default)."""
        optional = partial or self.default is AGENT_NAME
        kind = self.type | None if optional or self.nullable else self.type
        default = None if optional else self.default
        return kind, Field(default, ge=self.ge, le=self.le, max_length=self.max_length)


def _between(name: str, low: float, high: float) -> str:
    return f"The {name.replace('_', ' ')} must be between {low} and {high}."


def _selected(name: str) -> str:
    return f"The selected {name.replace('_', ' ')} is invalid."


def _boolean(name: str) -> str:
    return f"The {name.replace('_', ' ')} field must be true or false."


def _longest(name: str, length: int) -> str:
    return f"The {name.replace('_', ' ')} field must not be greater than {length} characters."


def _number(name: str, low: float, high: float, default: Any, kind: type[Any], order: int
            ) -> Setting:  # fmt: skip
    message = _between(name, low, high)
    return Setting(name, kind, default, ge=low, le=high, message=message, runtime_order=order)


def _flag(name: str, default: bool, order: int | None) -> Setting:
    return Setting(name, bool, default, message=_boolean(name), runtime_order=order)


# In the create body's order (the OpenAPI document and a 422's field order follow it).
# _number(name, minimum, maximum, default, type, runtime_order); _flag(name, default, runtime_order)
SETTINGS: tuple[Setting, ...] = (
    Setting("name", str, REQUIRED, max_length=255, message=_longest("name", 255)),
    Setting("label", str, AGENT_NAME, max_length=255, message=_longest("label", 255)),
    Setting("description", str, None, nullable=True),
    Setting("language", Language, Language.EN_US, message=_selected("language"),
            runtime_order=0),
    Setting("initial_message", str, None, nullable=True, runtime_order=1),
    Setting("interrupt_sensitivity", Sensitivity, Sensitivity.MEDIUM,
            message=_selected("interrupt_sensitivity"), runtime_order=5),
    Setting("endpointing_sensitivity", str, "auto", max_length=255,
            message=_longest("endpointing_sensitivity", 255), runtime_order=6),
    Setting("ivr_navigation_mode", str, "off", max_length=255,
            message=_longest("ivr_navigation_mode", 255), runtime_order=7),
    _number("conversation_speed", 0.1, 3.0, 1.0, float, 4),
    _number("initial_message_delay", 0, 60, 0, int, 3),
    _flag("ask_if_human_present_on_idle", False, 10),
    # 1-300: the validation message and the OpenAPI file, not the page's 1-60 (CONTRIBUTING).
    _number("idle_time_seconds", 1, 300, 10, int, 8),
    _number("max_idle_check_count", 1, 10, 3, int, 9),
    _number("max_call_duration_seconds", 1, 3600, 1800, int, 14),
    _flag("say_goodbye_on_max_duration", True, 15),
    _number("user_inactivity_timeout_seconds", 5, 120, 30, int, 13),
    _number("initial_idle_time_seconds", 1, 60, 5, int, 11),
    _number("initial_max_idle_check_count", 0, 10, 2, int, 12),
    _number("llm_temperature", 0, 2, 0.7, float, 16),
    _flag("enable_recording", False, 17),
    Setting("direction", Direction, Direction.INBOUND, message=_selected("direction"),
            runtime_order=18),
    Setting("who_speaks_first", Speaker, Speaker.AGENT, message=_selected("who_speaks_first"),
            runtime_order=2),
    # The compiler's prompt budget; the runtime gets the compiled prompt, not the number.
    Setting("training_budget_tokens", int, 2000, ge=1, le=1_000_000,
            message=_between("training_budget_tokens", 1, 1_000_000)),
    # Publish gates (docs/testing-trainings.md): refuse to publish while the linter reports an
    # error, or unless the last test run on this draft passed.
    _flag("publish_requires_clean_lint", False, None),
    _flag("publish_requires_passing_tests", False, None),
    # PUT .../voice: the template chosen, frozen with what a runtime needs from it.
    Setting("voice_template_id", str, None, nullable=True, api=False),
    Setting("voice_name", str, None, nullable=True, api=False),
    Setting("voice_provider", str, None, nullable=True, api=False),
    Setting("voice_provider_voice_id", str, None, nullable=True, api=False),
    Setting("voice_quality_tier", str, None, nullable=True, api=False),
    Setting("voice_stability", float, None, nullable=True, api=False),
    Setting("voice_similarity", float, None, nullable=True, api=False),
    Setting("ambient_background", str, None, nullable=True, api=False),
    Setting("ambient_volume", float, None, nullable=True, api=False),
    # PATCH .../advanced-settings.
    Setting("enable_initial_message_cache", bool, False, api=False),
)  # fmt: skip

BY_NAME = {setting.name: setting for setting in SETTINGS}
NAMES = tuple(setting.name for setting in SETTINGS)
# What Create and Update Agent accept.
API_SETTINGS = tuple(setting for setting in SETTINGS if setting.api)
RUNTIME_SETTINGS = tuple(
    s.name for s in sorted(SETTINGS, key=lambda s: s.runtime_order or 0) if s.reaches_runtime
)
# SQLite hands booleans back as 0/1 and whole REALs as integers (from RETURNING); a snapshot must
# read, and hash, the same on both databases.
COERCE: dict[str, type[Any]] = {s.name: s.type for s in SETTINGS if s.type in (bool, float)}


def fields(*, partial: bool, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """The API settings as pydantic fields, for `pydantic.create_model`."""
    return {s.name: s.field(partial=partial) for s in API_SETTINGS if s.name not in leave_out}
