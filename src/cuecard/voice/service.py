"""Voice rules: the catalog listing, and PUT .../voice (template checks, draft reset)."""

from __future__ import annotations

from typing import Any

from cuecard.agent_api.schemas import Agent
from cuecard.agent_api.service import load_agent
from cuecard.agents import repository as agents_repository
from cuecard.agents.repository import AgentRow
from cuecard.agents.service import still_there
from cuecard.audit import service as audit
from cuecard.auth.service import Caller
from cuecard.core.db import UnitOfWork, utcnow
from cuecard.core.errors import NotFound, ValidationFailed
from cuecard.core.validation import validate_with
from cuecard.voice.catalog import Catalog
from cuecard.voice.schemas import VoiceListItem, VoiceTemplateGroup, VoiceTemplateQuery, VoiceUpdate


class VoiceNotFound(NotFound):
    code = "VOICE_NOT_FOUND"
    message = "Voice template not found"


def list_templates(catalog: Catalog, query: VoiceTemplateQuery) -> list[VoiceTemplateGroup]:
    """Matching templates grouped by display name, in catalog order."""
    groups: dict[str, list[VoiceListItem]] = {}
    for t in catalog.templates:
        if query.language is not None and not t.speaks(query.language):
            continue
        if query.quality_tier is not None and t.quality_tier != query.quality_tier:
            continue
        if query.gender is not None and t.gender != query.gender:
            continue
        item = VoiceListItem.model_validate(t.model_dump())
        groups.setdefault(t.display_name, []).append(item)
    return [VoiceTemplateGroup(display_name=name, voices=v) for name, v in groups.items()]


def _sent(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    return value is not None and not (isinstance(value, str) and not value.strip())


async def update_voice(uow: UnitOfWork, caller: Caller, catalog: Catalog, agent: AgentRow,
                       body: dict[str, Any]
                       ) -> Agent:  # fmt: skip
    """Set the agent's voice. An unknown voice_id is 404 when nothing else is wrong; the
    template decides whether similarity and stability are required (high-fidelity tiers) or
    refused, and which languages the agent may speak with it."""
    errors: dict[str, list[str]] = {}
    data = validate_with(VoiceUpdate, body, errors)
    voice_id = body.get("voice_id")
    template = None
    if isinstance(voice_id, str) and voice_id.strip() and "voice_id" not in errors:
        template = catalog.get(voice_id.strip())
        if template is None:
            if errors:
                raise ValidationFailed(errors)
            raise VoiceNotFound()
    if template is not None:
        for name in ("similarity", "stability"):
            if name in errors:
                continue
            if template.high_fidelity and not _sent(body, name):
                errors[name] = [f"The {name} field is required."]
            elif not template.high_fidelity and _sent(body, name):
                errors[name] = [f"The {name} field is prohibited."]
        if "language" not in errors:
            wanted = body.get("language") if _sent(body, "language") else None
            language = str(wanted).strip() if wanted else agent.language
            if not template.speaks(language):
                field = "language" if wanted else "voice_id"
                errors.setdefault(field, []).append(
                    f"The selected voice does not speak {language}."
                )
    if errors or data is None or template is None:
        raise ValidationFailed(errors)
    changes: dict[str, Any] = {
        "voice_template_id": template.id,
        "voice_name": template.name,
        "voice_provider": template.provider,
        "voice_provider_voice_id": template.provider_voice_id,
        "voice_quality_tier": template.quality_tier.value,
        "voice_stability": data.stability,
        "voice_similarity": data.similarity,
        "conversation_speed": data.conversation_speed,
        "who_speaks_first": data.who_speaks_first.value,
        "ambient_background": data.ambient_background,
        "ambient_volume": 1.0 if data.ambient_volume is None else data.ambient_volume,
    }
    if data.language is not None:
        changes["language"] = data.language.value
    row = still_there(
        await agents_repository.update_settings_and_reset_draft(uow, agent.id, changes, utcnow())
    )
    await audit.record(
        uow,
        caller,
        "agent.voice_updated",
        agent_id=agent.id,
        target_type="agent",
        target_id=agent.id,
        changes=audit.changed(agent, changes),
    )
    return await load_agent(uow, row)
