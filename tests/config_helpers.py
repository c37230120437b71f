"""Helpers for the agent-configuration tests (knowledge, voice, calling, actions)."""

from __future__ import annotations

from typing import Any

import httpx

from cuecard.calling import service as calling

Headers = dict[str, str]
KNOWLEDGE = {
    "description": "You answer support calls for Acme.",
    "initial_message": "Hello! How can I help?",
    "interrupt_sensitivity": "high",
    "ask_if_human_present_on_idle": True,
    "llm_temperature": 0.8,
    "initial_message_delay": 2,
}
# From the default catalog: an ElevenLabs "ultra" voice (takes stability/similarity) and an
# Azure pt-BR "basic" one (refuses them).
RACHEL_ULTRA = "83bd1903-4130-5e71-bf17-a30e459c93b5"
FRANCISCA_BASIC_PT = "47b65da2-ff91-5a0f-be5c-161d6dd1f484"


async def register_number(
    app: Any, number: str, *, environment: str = "default", direction: str = "both"
) -> str:
    """What `cuecard phone-numbers add` does; returns the number's id."""
    async with app.state.db.transaction() as uow:
        added = await calling.add_number(uow, environment, number, direction, None, None)
    return added.id


async def publish(client: httpx.AsyncClient, headers: Headers, agent_id: str) -> dict[str, Any]:
    response = await client.post(f"/api/v1/agents/{agent_id}/publish", headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def native(
    client: httpx.AsyncClient,
    headers: Headers,
    agent_id: str,
    version: str = "draft",
    fmt: str = "native",
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/agents/{agent_id}/runtime-config",
        params={"version": version, "format": fmt},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document
