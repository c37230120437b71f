"""Small API helpers shared by the runtime and versions tests (they only call the public API)."""

from __future__ import annotations

from typing import Any

import httpx


async def add_training(
    client: httpx.AsyncClient, headers: dict[str, str], agent_id: object, **fields: Any
) -> dict[str, Any]:
    body = {"subject": "Subject", "instructions": "Instructions.", **fields}
    response = await client.post(f"/api/v1/agents/{agent_id}/trainings", json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def publish(client: httpx.AsyncClient, headers: dict[str, str], agent_id: object) -> int:
    response = await client.post(f"/api/v1/agents/{agent_id}/publish", headers=headers)
    assert response.status_code == 200, response.text
    version: int = response.json()["data"]["version"]
    return version


async def config(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    agent_id: object,
    version: object = "draft",
    fmt: str = "native",
) -> httpx.Response:
    return await client.get(
        f"/api/v1/agents/{agent_id}/runtime-config",
        params={"version": str(version), "format": fmt},
        headers=headers,
    )


async def native(
    client: httpx.AsyncClient, headers: dict[str, str], agent_id: object, version: object = "draft"
) -> dict[str, Any]:
    response = await config(client, headers, agent_id, version)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data
