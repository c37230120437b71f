from __future__ import annotations

from typing import Any

import httpx

from cuecard.app import create_app
from cuecard.core.config import Settings
from tests.config_helpers import native
from tests.conftest import TokenFactory, bearer

Headers = dict[str, str]


class TestOptimizedCostsEligibility:
    async def test_no_recorded_calls_means_not_eligible(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/optimized-costs-eligibility", headers=headers
        )

        assert response.status_code == 200
        assert response.json()["data"] == {
            "eligible": False,
            "current_calls": 0,
            "required_calls": 700,
            "threshold_days": 7,
            "calls_remaining": 700,
        }

    async def test_another_environments_agent_is_404(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: TokenFactory
    ) -> None:
        other = bearer(await make_token("other"))
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/optimized-costs-eligibility", headers=other
        )
        assert response.status_code == 404


class TestUpdateAdvancedSettings:
    async def test_enabling_on_an_ineligible_agent_is_the_documented_422(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await client.patch(
            f"/api/v1/agents/{agent['id']}/advanced-settings",
            json={"enable_initial_message_cache": True},
            headers=headers,
        )

        assert response.status_code == 422
        assert response.json() == {
            "success": False,
            "message": "Agent does not meet the call volume threshold for optimized costs",
            "code": "OPTIMIZED_COSTS_NOT_ELIGIBLE",
            "details": {"current_calls": 0, "required_calls": 700, "threshold_days": 7},
        }

    async def test_disabling_is_always_allowed(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await client.patch(
            f"/api/v1/agents/{agent['id']}/advanced-settings",
            json={"enable_initial_message_cache": False},
            headers=headers,
        )

        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Advanced settings updated successfully"
        assert body["data"]["advanced_settings"] == {"enable_initial_message_cache": False}
        assert set(body["data"]) >= {"id", "name", "advanced_settings", "updated_at"}

    async def test_a_bad_value_is_a_laravel_422(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await client.patch(
            f"/api/v1/agents/{agent['id']}/advanced-settings",
            json={"enable_initial_message_cache": "sure"},
            headers=headers,
        )
        assert response.json()["errors"] == {
            "enable_initial_message_cache": [
                "The enable initial message cache field must be true or false."
            ]
        }

    async def test_with_a_zero_threshold_the_cache_turns_on_and_reaches_the_runtime(
        self, settings: Settings
    ) -> None:
        app = create_app(Settings(**{**settings.__dict__, "optimized_costs_required_calls": 0}))
        async with app.router.lifespan_context(app):
            from cuecard.auth import service as auth

            async with app.state.db.transaction() as uow:
                await auth.ensure_environment(uow, "default")
                _, token = await auth.create_token(
                    uow, settings.resolved_secret_key(), "talq_", "default"
                )
            headers = bearer(token)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                agent = (
                    await client.post("/api/v1/agents", json={"name": "B"}, headers=headers)
                ).json()["data"]
                eligible = await client.get(
                    f"/api/v1/agents/{agent['id']}/optimized-costs-eligibility", headers=headers
                )
                response = await client.patch(
                    f"/api/v1/agents/{agent['id']}/advanced-settings",
                    json={"enable_initial_message_cache": True},
                    headers=headers,
                )
                draft = await native(client, headers, agent["id"])
        assert eligible.json()["data"]["eligible"] is True
        assert "calls_remaining" not in eligible.json()["data"]  # as documented when eligible
        assert response.status_code == 200
        assert response.json()["data"]["advanced_settings"]["enable_initial_message_cache"] is True
        assert draft["settings"]["enable_initial_message_cache"] is True
