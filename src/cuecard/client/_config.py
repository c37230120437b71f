"""The agent-configuration endpoints (knowledge, voice, calling, advanced settings, actions,
phone numbers) as `Call`s, and their resources for `Client` and `AsyncClient` side by side."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from cuecard.client._base import Call
from cuecard.client._config_models import (
    Action,
    ActionIntegration,
    AdvancedSettingsState,
    CallingState,
    Eligibility,
    InvokeResult,
    PhoneNumber,
    VoiceTemplateGroup,
)
from cuecard.client._endpoints import API, _agent, _data, _drop_none, _nothing, _seg, _unwrap
from cuecard.client._models import Agent

# Aliases: inside the resources, `list` is a method name.
ActionList = list[Action]
IntegrationList = list[ActionIntegration]

_actions = TypeAdapter(list[Action])
_groups = TypeAdapter(list[VoiceTemplateGroup])
_numbers = TypeAdapter(list[PhoneNumber])
_integrations = TypeAdapter(list[ActionIntegration])


def _agent_of(body: Any) -> Agent:
    return Agent.model_validate(_data(body))


# Calls


def update_knowledge(agent_id: str, fields: dict[str, Any]) -> Call[Agent]:
    return Call("PUT", f"{_agent(agent_id)}/knowledge", _agent_of, json=_drop_none(fields),
                idempotent=True)  # fmt: skip


def update_voice(agent_id: str, fields: dict[str, Any]) -> Call[Agent]:
    return Call("PUT", f"{_agent(agent_id)}/voice", _agent_of, json=_drop_none(fields),
                idempotent=True)  # fmt: skip


def update_calling(agent_id: str, fields: dict[str, Any]) -> Call[CallingState]:
    return Call("PUT", f"{_agent(agent_id)}/calling",
                lambda body: CallingState.model_validate(_data(body)),
                json=_drop_none(fields), idempotent=True)  # fmt: skip


def update_advanced(agent_id: str, fields: dict[str, Any]) -> Call[AdvancedSettingsState]:
    return Call("PATCH", f"{_agent(agent_id)}/advanced-settings",
                lambda body: AdvancedSettingsState.model_validate(_data(body)),
                json=_drop_none(fields), idempotent=True)  # fmt: skip


def eligibility(agent_id: str) -> Call[Eligibility]:
    return Call("GET", f"{_agent(agent_id)}/optimized-costs-eligibility",
                lambda body: Eligibility.model_validate(_data(body)), idempotent=True)  # fmt: skip


def voice_templates(params: dict[str, Any]) -> Call[list[VoiceTemplateGroup]]:
    return Call("GET", f"{API}/voice-templates",
                lambda body: _groups.validate_python(_data(body)),
                params=_drop_none(params) or None, idempotent=True)  # fmt: skip


def phone_numbers(params: dict[str, Any]) -> Call[list[PhoneNumber]]:
    return Call("GET", f"{API}/phone-numbers",
                lambda body: _numbers.validate_python(_data(body)),
                params=_drop_none(params) or None, idempotent=True)  # fmt: skip


def inbound_config(number: str, format: str) -> Call[dict[str, Any]]:
    return Call("GET", f"{API}/phone-numbers/{_seg(number)}/runtime-config", _unwrap,
                params={"format": format}, idempotent=True)  # fmt: skip


def list_actions(agent_id: str) -> Call[list[Action]]:
    return Call("GET", f"{_agent(agent_id)}/actions",
                lambda body: _actions.validate_python(_data(body)), idempotent=True)  # fmt: skip


def upsert_action(agent_id: str, fields: dict[str, Any]) -> Call[Action]:
    # node_id is required, so a repeat updates the same action: safe to retry.
    return Call("POST", f"{_agent(agent_id)}/actions",
                lambda body: Action.model_validate(_data(body)), json=_drop_none(fields),
                idempotent=True)  # fmt: skip


def delete_action(agent_id: str, action_id: str) -> Call[None]:
    return Call("DELETE", f"{_agent(agent_id)}/actions/{_seg(action_id)}", _nothing,
                idempotent=True)  # fmt: skip


def integrations() -> Call[list[ActionIntegration]]:
    return Call("GET", f"{API}/action-integrations",
                lambda body: _integrations.validate_python(_data(body)),
                idempotent=True)  # fmt: skip


def invoke_action(agent_id: str, action_id: str, arguments: dict[str, Any]) -> Call[InvokeResult]:
    # Never retried: the target may not be idempotent.
    return Call("POST", f"{_agent(agent_id)}/runtime/actions/{_seg(action_id)}/invoke",
                lambda body: InvokeResult.model_validate(_data(body)),
                json={"arguments": arguments})  # fmt: skip


# Resources: each method builds its Call; the sync and async twins only differ in awaiting.


class AgentConfig:
    """Knowledge, voice, calling and advanced settings of an agent (`client.agent_config`)."""

    def __init__(self, send: Any) -> None:
        self._send = send

    def update_knowledge(self, agent_id: str, **fields: Any) -> Agent:
        """PUT .../knowledge: description, initial_message, interrupt_sensitivity,
        ask_if_human_present_on_idle, llm_temperature, initial_message_delay."""
        result: Agent = self._send(update_knowledge(agent_id, fields))
        return result

    def update_voice(self, agent_id: str, **fields: Any) -> Agent:
        result: Agent = self._send(update_voice(agent_id, fields))
        return result

    def update_calling(self, agent_id: str, direction: str,
                       phone_number_ids: list[str] | None = None) -> CallingState:  # fmt: skip
        fields = {"direction": direction, "phone_number_ids": phone_number_ids}
        result: CallingState = self._send(update_calling(agent_id, fields))
        return result

    def update_advanced_settings(self, agent_id: str, *, enable_initial_message_cache: bool
                                 ) -> AdvancedSettingsState:  # fmt: skip
        fields = {"enable_initial_message_cache": enable_initial_message_cache}
        result: AdvancedSettingsState = self._send(update_advanced(agent_id, fields))
        return result

    def optimized_costs_eligibility(self, agent_id: str) -> Eligibility:
        result: Eligibility = self._send(eligibility(agent_id))
        return result

    def voice_templates(self, *, language: str | None = None, quality_tier: str | None = None,
                        gender: str | None = None) -> list[VoiceTemplateGroup]:  # fmt: skip
        params = {"language": language, "quality_tier": quality_tier, "gender": gender}
        result: list[VoiceTemplateGroup] = self._send(voice_templates(params))
        return result

    def phone_numbers(self, *, search: str | None = None) -> list[PhoneNumber]:
        result: list[PhoneNumber] = self._send(phone_numbers({"search": search}))
        return result

    def inbound_config(self, number: str, *, format: str = "native") -> dict[str, Any]:
        """The published config of the agent answering `number` (for a telephony bridge)."""
        result: dict[str, Any] = self._send(inbound_config(number, format))
        return result


class Actions:
    def __init__(self, send: Any) -> None:
        self._send = send

    def list(self, agent_id: str) -> ActionList:
        result: ActionList = self._send(list_actions(agent_id))
        return result

    def upsert(self, agent_id: str, *, node_id: str, name: str, description: str, type: str,
               **fields: Any) -> Action:  # fmt: skip
        """Create the action, or update the agent's action with this node_id. Secrets
        (authorization_token, custom_headers values) are stored encrypted, never returned."""
        body = {"node_id": node_id, "name": name, "description": description, "type": type,
                **fields}  # fmt: skip
        result: Action = self._send(upsert_action(agent_id, body))
        return result

    def delete(self, agent_id: str, action_id: str) -> None:
        self._send(delete_action(agent_id, action_id))

    def integrations(self) -> IntegrationList:
        result: IntegrationList = self._send(integrations())
        return result

    def invoke(self, agent_id: str, action_id: str, arguments: dict[str, Any]) -> InvokeResult:
        result: InvokeResult = self._send(invoke_action(agent_id, action_id, arguments))
        return result


class AsyncAgentConfig:
    def __init__(self, send: Any) -> None:
        self._send = send

    async def update_knowledge(self, agent_id: str, **fields: Any) -> Agent:
        result: Agent = await self._send(update_knowledge(agent_id, fields))
        return result

    async def update_voice(self, agent_id: str, **fields: Any) -> Agent:
        result: Agent = await self._send(update_voice(agent_id, fields))
        return result

    async def update_calling(
        self, agent_id: str, direction: str, phone_number_ids: list[str] | None = None
    ) -> CallingState:
        fields = {"direction": direction, "phone_number_ids": phone_number_ids}
        result: CallingState = await self._send(update_calling(agent_id, fields))
        return result

    async def update_advanced_settings(self, agent_id: str, *, enable_initial_message_cache: bool
                                       ) -> AdvancedSettingsState:  # fmt: skip
        fields = {"enable_initial_message_cache": enable_initial_message_cache}
        result: AdvancedSettingsState = await self._send(update_advanced(agent_id, fields))
        return result

    async def optimized_costs_eligibility(self, agent_id: str) -> Eligibility:
        result: Eligibility = await self._send(eligibility(agent_id))
        return result

    async def voice_templates(self, *, language: str | None = None,
                              quality_tier: str | None = None, gender: str | None = None
                              ) -> list[VoiceTemplateGroup]:  # fmt: skip
        params = {"language": language, "quality_tier": quality_tier, "gender": gender}
        result: list[VoiceTemplateGroup] = await self._send(voice_templates(params))
        return result

    async def phone_numbers(self, *, search: str | None = None) -> list[PhoneNumber]:
        result: list[PhoneNumber] = await self._send(phone_numbers({"search": search}))
        return result

    async def inbound_config(self, number: str, *, format: str = "native") -> dict[str, Any]:
        result: dict[str, Any] = await self._send(inbound_config(number, format))
        return result


class AsyncActions:
    def __init__(self, send: Any) -> None:
        self._send = send

    async def list(self, agent_id: str) -> ActionList:
        result: ActionList = await self._send(list_actions(agent_id))
        return result

    async def upsert(self, agent_id: str, *, node_id: str, name: str, description: str,
                     type: str, **fields: Any) -> Action:  # fmt: skip
        body = {"node_id": node_id, "name": name, "description": description, "type": type,
                **fields}  # fmt: skip
        result: Action = await self._send(upsert_action(agent_id, body))
        return result

    async def delete(self, agent_id: str, action_id: str) -> None:
        await self._send(delete_action(agent_id, action_id))

    async def integrations(self) -> IntegrationList:
        result: IntegrationList = await self._send(integrations())
        return result

    async def invoke(self, agent_id: str, action_id: str, arguments: dict[str, Any]
                     ) -> InvokeResult:  # fmt: skip
        result: InvokeResult = await self._send(invoke_action(agent_id, action_id, arguments))
        return result
