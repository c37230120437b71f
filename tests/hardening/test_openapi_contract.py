"""The OpenAPI document tells the truth about errors and auth; /docs and /redoc work offline."""

from __future__ import annotations

import re
from typing import Any

import httpx


async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await client.get("/openapi.json")).json())


def api_operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, methods in doc["paths"].items()
        if path.startswith("/api/v1/agents")
        for method, op in methods.items()
    ]


class TestDocument:
    async def test_every_operation_lists_the_error_envelopes_with_examples(
        self, client: httpx.AsyncClient
    ) -> None:
        doc = await document(client)

        for path, method, op in api_operations(doc):
            responses = op["responses"]
            expected = {"401", "403", "404", "409", "422", "429", "503"}
            if method in ("post", "patch", "put", "delete"):
                expected |= {"412", "413", "415"}
            assert expected <= set(responses), (method, path)
            for status in expected:
                content = responses[status]["content"]["application/json"]
                assert content["examples"], (method, path, status)
            assert "HTTPValidationError" not in str(responses["422"])
            assert responses["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ValidationErrorEnvelope"
            }

    async def test_examples_are_the_envelopes_the_server_sends(
        self, client: httpx.AsyncClient
    ) -> None:
        doc = await document(client)
        op = doc["paths"]["/api/v1/agents"]["post"]

        unauthenticated = op["responses"]["401"]["content"]["application/json"]["examples"]
        sent = (await client.post("/api/v1/agents", json={"name": "x"})).json()
        assert sent in [example["value"] for example in unauthenticated.values()]
        unavailable = op["responses"]["503"]["content"]["application/json"]["examples"]
        assert set(unavailable) == {"DATABASE_UNAVAILABLE", "STORAGE_FULL", "DATABASE_READ_ONLY"}

    async def test_a_bearer_scheme_guards_every_api_operation(
        self, client: httpx.AsyncClient
    ) -> None:
        doc = await document(client)

        assert doc["components"]["securitySchemes"]["bearerAuth"] == {
            "type": "http",
            "scheme": "bearer",
            "description": "An environment token (`cuecard tokens create`).",
        }
        for path, method, op in api_operations(doc):
            assert op["security"] == [{"bearerAuth": []}], (method, path)
        assert "security" not in doc["paths"]["/health"]["get"]

    async def test_operation_ids_are_the_handlers_names(self, client: httpx.AsyncClient) -> None:
        doc = await document(client)
        ids = [op["operationId"] for _, _, op in api_operations(doc)]

        assert {"create_agent", "list_agents", "create_training", "delete_training"} <= set(ids)
        assert all(re.fullmatch(r"[a-z_]+", op_id) for op_id in ids)
        assert len(ids) == len(set(ids))

    async def test_writes_document_idempotency_key_and_if_match(
        self, client: httpx.AsyncClient
    ) -> None:
        doc = await document(client)
        patch = doc["paths"]["/api/v1/agents/{agent_id}"]["patch"]

        headers = {p["name"] for p in patch["parameters"] if p["in"] == "header"}
        assert headers == {"Idempotency-Key", "If-Match"}


class TestOfflineDocs:
    async def test_docs_and_redoc_load_their_assets_from_this_server(
        self, client: httpx.AsyncClient
    ) -> None:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            sources = re.findall(r'(?:src|href)="([^"]+)"', html)

            assert sources, page
            assert all(s.startswith("/docs-assets/") for s in sources), (page, sources)
            for source in sources:
                asset = await client.get(source)
                assert asset.status_code == 200 and len(asset.content) > 1000, source
        assert "fonts.googleapis" not in (await client.get("/redoc")).text
