"""The voice catalog: Cuecard's default voices of common TTS providers, or the operator's file
(CUECARD_VOICE_TEMPLATES=path/to/file.json, the same shape as default_voices.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from cuecard.core.config import ConfigError
from cuecard.voice.schemas import VoiceTemplate

DEFAULT_CATALOG = Path(__file__).with_name("default_voices.json")
_templates = TypeAdapter(list[VoiceTemplate])


@dataclass(frozen=True)
class Catalog:
    templates: list[VoiceTemplate]
    by_id: dict[str, VoiceTemplate] = field(default_factory=dict)

    def get(self, template_id: str) -> VoiceTemplate | None:
        return self.by_id.get(template_id)


def load_catalog(path: str | None = None) -> Catalog:
    """Read and check the catalog; a bad operator file stops the server at start-up."""
    source = Path(path) if path else DEFAULT_CATALOG
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
        items = raw["voices"] if isinstance(raw, dict) else raw
        templates = _templates.validate_python(items)
    except (OSError, ValueError, KeyError, TypeError, PydanticValidationError) as exc:
        raise ConfigError(f"CUECARD_VOICE_TEMPLATES: cannot read {source}: {exc}") from None
    by_id: dict[str, VoiceTemplate] = {}
    for template in templates:
        if template.id in by_id:
            raise ConfigError(f"CUECARD_VOICE_TEMPLATES: voice id {template.id!r} is repeated")
        by_id[template.id] = template
    return Catalog(templates, by_id)
