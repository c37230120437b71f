from __future__ import annotations

from typing import Any

import httpx


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for item in node for r in refs(item)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


class TestOpenApi:
    async def test_every_reference_resolves(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()

        for ref in refs(document):
            assert ref.startswith("#/"), ref
            resolve(document, ref)

    async def test_bodies_and_query_strings_are_documented(self, client: httpx.AsyncClient) -> None:
        paths = (await client.get("/openapi.json")).json()["paths"]

        training = paths["/api/v1/agents/{agent_id}/trainings"]
        body = training["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert set(body["required"]) == {"subject", "instructions"}
        assert body["properties"]["subject"]["maxLength"] == 255
        assert [p["name"] for p in training["get"]["parameters"] if p["in"] == "query"] == [
            "current_status",
            "page",
            "per_page",
        ]
        agent_query = {p["name"] for p in paths["/api/v1/agents"]["get"]["parameters"]}
        assert agent_query == {"status", "direction", "search", "page", "per_page"}
