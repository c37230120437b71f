"""401, 403 and 404 on every agent-configuration endpoint, as the pages document them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TokenFactory, bearer

ACTION = "8d3b0a4e-0000-4000-8000-000000000000"
# (method, path under the agent or absolute, writes?)
AGENT_ROUTES = [
    ("PUT", "/knowledge", True),
    ("PUT", "/voice", True),
    ("PUT", "/calling", True),
    ("PATCH", "/advanced-settings", True),
    ("GET", "/optimized-costs-eligibility", False),
    ("GET", "/actions", False),
    ("POST", "/actions", True),
    ("DELETE", f"/actions/{ACTION}", True),
    ("POST", f"/runtime/actions/{ACTION}/invoke", False),
]
GLOBAL_ROUTES = ["/api/v1/voice-templates", "/api/v1/phone-numbers", "/api/v1/action-integrations"]


class TestAccess:
    async def test_no_token_is_401_everywhere(
        self, client: httpx.AsyncClient, agent: dict[str, Any]
    ) -> None:
        calls = [(m, f"/api/v1/agents/{agent['id']}{p}") for m, p, _ in AGENT_ROUTES]
        calls += [("GET", path) for path in GLOBAL_ROUTES]
        for method, path in calls:
            response = await client.request(method, path, json={})
            assert response.status_code == 401, (method, path)
            assert response.json() == {
                "success": False, "message": "Unauthenticated.", "code": "INVALID_TOKEN"
            }  # fmt: skip

    async def test_another_environments_agent_is_404_agent_not_found(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: TokenFactory
    ) -> None:
        other = bearer(await make_token("other"))
        for method, path, _ in AGENT_ROUTES:
            response = await client.request(
                method, f"/api/v1/agents/{agent['id']}{path}", json={}, headers=other
            )
            assert response.status_code == 404, (method, path)
            assert response.json()["message"] == "Agent not found"
            assert response.json()["code"] == "AGENT_NOT_FOUND"

    async def test_a_read_only_token_may_read_and_invoke_but_never_write(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: TokenFactory
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        for method, path, writes in AGENT_ROUTES:
            response = await client.request(
                method, f"/api/v1/agents/{agent['id']}{path}", json={}, headers=reader
            )
            if writes:
                assert response.status_code == 403, (method, path)
            else:
                assert response.status_code in (200, 404), (method, path)  # 404: no such action
        for path in GLOBAL_ROUTES:
            assert (await client.get(path, headers=reader)).status_code == 200
