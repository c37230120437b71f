"""Small API helpers shared by the runtime and versions tests (they only call the public API)."""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest


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


def linear_flow(*node_ids: str) -> dict[str, Any]:
    """A valid flow through `node_ids`: each an `ask` leading to the next, the last one `end`."""
    nodes: list[dict[str, Any]] = [
        {"id": node_id, "type": "ask", "content": f"Question {node_id}?", "next": following}
        for node_id, following in itertools.pairwise(node_ids)
    ]
    nodes.append({"id": node_ids[-1], "type": "end"})
    return {"initial_node_id": node_ids[0], "nodes": nodes}


async def set_flow(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    agent_id: object,
    flow_config: dict[str, Any] | None,
) -> dict[str, Any]:
    """PUT the agent's flow (flow_driven with `flow_config`, llm_driven with None)."""
    body: dict[str, Any] = {"conversation_mode": "flow_driven", "flow_config": flow_config}
    if flow_config is None:
        body = {"conversation_mode": "llm_driven"}
    response = await client.put(f"/api/v1/agents/{agent_id}/flow", json=body, headers=headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def load_example(repo_root: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import examples/<name>.py as a module (examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, repo_root / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
