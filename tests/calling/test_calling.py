from __future__ import annotations

from typing import Any

import httpx

from tests.config_helpers import publish, register_number
from tests.conftest import TokenFactory, bearer

Headers = dict[str, str]


class TestUpdateAgentCalling:
    async def test_assigns_numbers_and_answers_the_documented_partial_agent(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        agent = await create_agent(description="Prompt.")
        await publish(client, headers, agent["id"])
        first = await register_number(app, "+1 (212) 555-0101")
        second = await register_number(app, "+12125550102", direction="outbound")

        response = await client.put(
            f"/api/v1/agents/{agent['id']}/calling",
            json={"direction": "outbound", "phone_number_ids": [first, second]},
            headers=headers,
        )

        assert response.status_code == 200
        body = response.json()
        assert body["message"] == "Agent calling settings updated successfully"
        data = body["data"]
        assert set(data) == {
            "id",
            "name",
            "direction",
            "current_status",
            "phone_numbers",
            "updated_at",
        }
        assert (data["direction"], data["current_status"]) == ("outbound", "draft")
        assert [n["number"] for n in data["phone_numbers"]] == ["+12125550101", "+12125550102"]
        assert data["phone_numbers"][0]["formatted_number"] == "(212) 555-0101"
        assert data["phone_numbers"][0]["country_code"] == "US"
        got = await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)
        assert [n["id"] for n in got.json()["data"]["phone_numbers"]] == [first, second]

    async def test_numbers_of_another_environment_or_unknown_are_invalid(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], app: Any,
        make_token: TokenFactory,
    ) -> None:  # fmt: skip
        await make_token("other")
        theirs = await register_number(app, "+12125550103", environment="other")

        for ids in ([theirs], ["not-a-uuid"], ["8d3b0a4e-0000-4000-8000-000000000000"]):
            response = await client.put(
                f"/api/v1/agents/{agent['id']}/calling",
                json={"direction": "inbound", "phone_number_ids": ids},
                headers=headers,
            )
            assert response.status_code == 422
            assert response.json()["errors"] == {
                "phone_number_ids": ["The selected phone number ids are invalid."]
            }

    async def test_one_inbound_number_answers_for_one_agent(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        number = await register_number(app, "+12125550104")
        first = await create_agent(name="First")
        second = await create_agent(name="Second")
        body = {"direction": "inbound", "phone_number_ids": [number]}
        assert (
            await client.put(f"/api/v1/agents/{first['id']}/calling", json=body, headers=headers)
        ).status_code == 200

        taken = await client.put(
            f"/api/v1/agents/{second['id']}/calling", json=body, headers=headers
        )

        assert taken.status_code == 422
        [message] = taken.json()["errors"]["phone_number_ids"]
        assert "+12125550104 already answers inbound calls for the agent 'First'" in message
        created = await client.post(
            "/api/v1/agents",
            json={"name": "Third", "direction": "inbound", "phone_number_ids": [number]},
            headers=headers,
        )
        assert created.status_code == 422
        assert "already answers inbound calls" in created.json()["errors"]["phone_number_ids"][0]
        # Outbound agents may share it.
        shared = await client.put(
            f"/api/v1/agents/{second['id']}/calling",
            json={"direction": "outbound", "phone_number_ids": [number]},
            headers=headers,
        )
        assert shared.status_code == 200
        # And turning the second agent inbound through PATCH is refused the same way.
        turned = await client.patch(
            f"/api/v1/agents/{second['id']}", json={"direction": "inbound"}, headers=headers
        )
        assert turned.status_code == 422
        assert "already answers inbound calls" in turned.json()["errors"]["direction"][0]

    async def test_a_number_carries_only_its_registered_direction(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any], app: Any
    ) -> None:
        outbound_only = await register_number(app, "+12125550105", direction="outbound")

        response = await client.put(
            f"/api/v1/agents/{agent['id']}/calling",
            json={"direction": "inbound", "phone_number_ids": [outbound_only]},
            headers=headers,
        )

        assert response.status_code == 422
        assert "outbound calls only" in response.json()["errors"]["phone_number_ids"][0]

    async def test_direction_is_required_and_checked_with_the_numbers(
        self, client: httpx.AsyncClient, headers: Headers, agent: dict[str, Any]
    ) -> None:
        response = await client.put(
            f"/api/v1/agents/{agent['id']}/calling",
            json={"direction": "sideways", "phone_number_ids": ["nope"]},
            headers=headers,
        )

        assert response.json()["errors"] == {
            "direction": ["The selected direction is invalid."],
            "phone_number_ids": ["The selected phone number ids are invalid."],
        }

    async def test_create_agent_takes_numbers_of_its_environment(
        self, client: httpx.AsyncClient, headers: Headers, app: Any
    ) -> None:
        number = await register_number(app, "+5511912345678")

        response = await client.post(
            "/api/v1/agents", json={"name": "Bot", "phone_number_ids": [number]}, headers=headers
        )

        assert response.status_code == 201
        [assigned] = response.json()["data"]["phone_numbers"]
        assert (assigned["number"], assigned["country_code"]) == ("+5511912345678", "BR")


class TestListPhoneNumbers:
    async def test_lists_the_environments_numbers_with_the_documented_fields(
        self, client: httpx.AsyncClient, headers: Headers, app: Any, make_token: TokenFactory
    ) -> None:
        await make_token("other")
        mine = await register_number(app, "+12125550106")
        await register_number(app, "+12125550107", environment="other")

        response = await client.get("/api/v1/phone-numbers", headers=headers)

        assert response.status_code == 200
        [number] = response.json()["data"]
        assert number["id"] == mine
        documented = {
            "id", "number", "country_code", "formatted_number", "international_number", "type",
            "has_voice", "has_sms", "has_mms", "has_fax", "has_whatsapp", "current_status",
            "is_sandbox", "current_price", "currency", "renewal_date", "auto_renewal",
            "created_at", "updated_at", "monthly_renewal_cost", "days_until_monthly_renewal",
            "is_due_for_monthly_renewal",
        }  # fmt: skip
        assert documented <= set(number)
        assert (number["type"], number["has_voice"], number["has_whatsapp"]) == (
            "voice",
            True,
            False,
        )

    async def test_filters(self, client: httpx.AsyncClient, headers: Headers, app: Any) -> None:
        await register_number(app, "+12125550108")
        await register_number(app, "+12125550109")

        async def numbers(**params: str) -> list[str]:
            response = await client.get("/api/v1/phone-numbers", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return [n["number"] for n in response.json()["data"]]

        assert await numbers(search="0109") == ["+12125550109"]
        assert await numbers(has_voice="true") == ["+12125550108", "+12125550109"]
        assert await numbers(has_voice="false") == []
        assert await numbers(has_whatsapp="true") == []
        assert await numbers(type="sms") == []
        bad = await client.get("/api/v1/phone-numbers", params={"type": "pager"}, headers=headers)
        assert bad.status_code == 422
        assert bad.json()["errors"] == {"type": ["The selected type is invalid."]}


class TestInboundLookup:
    async def test_a_bridge_gets_the_published_config_of_the_answering_agent(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        number = await register_number(app, "+12125550110", direction="inbound")
        agent = await create_agent(description="You answer for Acme.")
        await client.put(
            f"/api/v1/agents/{agent['id']}/calling",
            json={"direction": "inbound", "phone_number_ids": [number]},
            headers=headers,
        )
        url = "/api/v1/phone-numbers/+12125550110/runtime-config"

        unpublished = await client.get(url, headers=headers)
        await publish(client, headers, agent["id"])
        response = await client.get(url, params={"format": "openai-messages"}, headers=headers)

        assert unpublished.status_code == 409
        assert unpublished.json()["code"] == "AGENT_NOT_PUBLISHED"
        assert response.status_code == 200
        assert response.headers["X-Cuecard-Agent-Id"] == agent["id"]
        assert response.headers["X-Cuecard-Version"] == "1"
        assert response.json()["messages"][0]["content"] == "You answer for Acme."
        again = await client.get(
            url, headers={**headers, "If-None-Match": response.headers["ETag"]}
        )
        assert again.status_code == 304

    async def test_unknown_unanswered_and_foreign_numbers_are_404(
        self, client: httpx.AsyncClient, headers: Headers, app: Any, make_token: TokenFactory
    ) -> None:
        other = bearer(await make_token("other"))
        await register_number(app, "+12125550111")

        unknown = await client.get(
            "/api/v1/phone-numbers/+19995550000/runtime-config", headers=headers
        )
        unanswered = await client.get(
            "/api/v1/phone-numbers/+12125550111/runtime-config", headers=headers
        )
        foreign = await client.get(
            "/api/v1/phone-numbers/+12125550111/runtime-config", headers=other
        )

        assert (unknown.status_code, unknown.json()["code"]) == (404, "PHONE_NUMBER_NOT_FOUND")
        assert (unanswered.status_code, unanswered.json()["code"]) == (404, "NO_AGENT_FOR_NUMBER")
        assert (foreign.status_code, foreign.json()["code"]) == (404, "PHONE_NUMBER_NOT_FOUND")


class TestInboundRace:
    async def test_two_agents_racing_for_one_inbound_number_leave_one_owner(
        self, client: httpx.AsyncClient, headers: Headers, create_agent: Any, app: Any
    ) -> None:
        import asyncio

        number = await register_number(app, "+12125550120")
        agents = [await create_agent(name=f"A{i}") for i in range(4)]
        body = {"direction": "inbound", "phone_number_ids": [number]}

        responses = await asyncio.gather(
            *(client.put(f"/api/v1/agents/{a['id']}/calling", json=body, headers=headers)
              for a in agents)
        )  # fmt: skip

        assert sorted(r.status_code for r in responses) == [200, 422, 422, 422]
        async with app.state.db.transaction() as uow:
            owners = await uow.all(
                "SELECT agent_id FROM agent_phone_numbers WHERE inbound_number_id = :n",
                {"n": number},
            )
        winner = next(a for a, r in zip(agents, responses, strict=True) if r.status_code == 200)
        assert [o["agent_id"] for o in owners] == [winner["id"]]
