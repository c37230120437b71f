from __future__ import annotations

from typing import Any

import httpx

SECRET_TOKEN = "sk-live-do-not-leak-4242"
SECRET_HEADER = "tenant-secret-9191"


def webhook(url: str, **fields: Any) -> dict[str, Any]:
    return {
        "node_id": "schedule",
        "name": "Schedule Meeting",
        "description": "Schedule a meeting with the customer",
        "type": "webhook",
        "inputs": [
            {"name": "date", "type": "string", "required": True, "description": "Meeting date"},
            {"name": "time", "type": "string", "required": True, "description": "Meeting time"},
            {"name": "attendees", "type": "integer", "description": "How many come"},
            {"name": "source", "type": "string", "value": "voice-agent"},
        ],
        "url": url,
        "authorization_scheme": "bearer",
        "authorization_token": SECRET_TOKEN,
        "custom_headers": [{"key": "X-Tenant", "value": SECRET_HEADER}],
        "speak_on_send": "One moment while I book that.",
        "speak_on_receive": (
            "Booked for {{ slot.date }} at {{ response.slot.time }}, {{ arguments.date }}."
        ),
        **fields,
    }


async def create_action(
    client: httpx.AsyncClient, headers: dict[str, str], agent_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(f"/api/v1/agents/{agent_id}/actions", json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data
