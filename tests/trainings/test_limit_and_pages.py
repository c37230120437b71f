"""Big agents stay bounded: a per-agent trainings limit, and pages on the trainings list."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from cuecard.app import create_app
from cuecard.core.config import Settings
from tests.conftest import SECRET, TokenFactory, bearer
from tests.trainings.test_list_delete import add, url

LIMIT = 3


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env="test",
        secret_key=SECRET,
        max_trainings_per_agent=LIMIT,
    )


def limit_error(limit: int = LIMIT) -> dict[str, Any]:
    return {
        "success": False,
        "message": f"The agent already has the maximum of {limit} trainings.",
        "code": "TRAININGS_LIMIT_REACHED",
        "errors": {"trainings": [f"The trainings field must not have more than {limit} items."]},
    }


async def fill(client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]) -> None:
    for i in range(LIMIT):
        await add(client, headers, agent, f"t{i}", node_id=f"n{i}")


class TestTrainingsLimit:
    async def test_creating_past_the_limit_is_a_422_that_says_so(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await fill(client, headers, agent)

        response = await client.post(
            url(agent), json={"subject": "one more", "instructions": "x"}, headers=headers
        )

        assert response.status_code == 422
        assert response.json() == limit_error()
        listed = (await client.get(url(agent), headers=headers)).json()["data"]
        assert [t["subject"] for t in listed] == ["t0", "t1", "t2"]

    async def test_a_refused_create_leaves_the_agent_as_it_was(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: Any
    ) -> None:
        agent = await create_agent(description="Helps.")
        await fill(client, headers, agent)
        published = await client.post(f"/api/v1/agents/{agent['id']}/publish", headers=headers)
        assert published.status_code == 200

        response = await client.post(
            url(agent),
            json={"node_id": "new", "subject": "s", "instructions": "x"},
            headers=headers,
        )

        assert response.status_code == 422
        got = (await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)).json()["data"]
        assert got["current_status"] == "published"  # the draft reset was rolled back too

    async def test_updating_by_node_id_at_the_limit_still_works(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await fill(client, headers, agent)

        response = await client.post(
            url(agent), json={"node_id": "n1", "subject": "t1 v2", "instructions": "y"},
            headers=headers,
        )  # fmt: skip

        assert response.status_code == 200
        assert response.json()["message"] == "Agent training updated successfully"

    async def test_deleting_one_makes_room_for_one(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await fill(client, headers, agent)
        first = (await client.get(url(agent), headers=headers)).json()["data"][0]
        await client.delete(f"{url(agent)}/{first['id']}", headers=headers)

        response = await client.post(
            url(agent), json={"subject": "new", "instructions": "x"}, headers=headers
        )

        assert response.status_code == 200

    async def test_the_limit_is_per_agent(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: Any
    ) -> None:
        full = await create_agent()
        await fill(client, headers, full)
        other = await create_agent(name="Other")

        response = await client.post(
            url(other), json={"subject": "s", "instructions": "x"}, headers=headers
        )

        assert response.status_code == 200

    async def test_concurrent_creates_never_pass_the_limit(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        async def create(i: int) -> int:
            response = await client.post(
                url(agent), json={"subject": f"s{i}", "instructions": "x"}, headers=headers
            )
            return response.status_code

        codes = await asyncio.gather(*(create(i) for i in range(8)))

        assert sorted(codes) == [200] * LIMIT + [422] * (8 - LIMIT)
        assert len((await client.get(url(agent), headers=headers)).json()["data"]) == LIMIT


class TestUnpaginatedList:
    async def test_without_page_params_the_whole_array_and_no_meta(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await fill(client, headers, agent)

        body = (await client.get(url(agent), headers=headers)).json()

        assert set(body) == {"success", "data"}
        assert [t["subject"] for t in body["data"]] == ["t0", "t1", "t2"]

    async def test_a_lowered_limit_caps_the_array_and_pages_still_reach_everything(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: dict[str, Any],
        settings: Settings,
    ) -> None:
        await fill(client, headers, agent)

        async with lowered(settings, 2) as smaller:
            capped = (await smaller.get(url(agent), headers=headers)).json()
            paged = (await smaller.get(url(agent) + "?per_page=100", headers=headers)).json()

        assert [t["subject"] for t in capped["data"]] == ["t0", "t1"]
        assert [t["subject"] for t in paged["data"]] == ["t0", "t1", "t2"]
        assert paged["meta"]["total"] == 3


def lowered(settings: Settings, limit: int) -> Any:
    """A second app on the same database with a lower limit (an operator lowered it)."""

    class Context:
        async def __aenter__(self) -> httpx.AsyncClient:
            self.app = create_app(dataclasses.replace(settings, max_trainings_per_agent=limit))
            self.lifespan = self.app.router.lifespan_context(self.app)
            await self.lifespan.__aenter__()
            transport = httpx.ASGITransport(app=self.app)
            self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            return self.client

        async def __aexit__(self, *exc: object) -> None:
            await self.client.aclose()
            await self.lifespan.__aexit__(None, None, None)

    return Context()


class TestPages:
    async def test_per_page_gives_a_page_and_the_meta_of_list_agents(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await fill(client, headers, agent)

        body = (await client.get(url(agent) + "?per_page=2", headers=headers)).json()

        assert body["success"] is True
        assert [t["subject"] for t in body["data"]] == ["t0", "t1"]
        assert body["meta"] == {"current_page": 1, "per_page": 2, "total": 3, "last_page": 2}

    async def test_the_last_page_holds_the_rest(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await fill(client, headers, agent)

        body = (await client.get(url(agent) + "?page=2&per_page=2", headers=headers)).json()

        assert [t["subject"] for t in body["data"]] == ["t2"]
        assert body["meta"] == {"current_page": 2, "per_page": 2, "total": 3, "last_page": 2}

    async def test_page_alone_uses_20_per_page_and_past_the_end_is_empty(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await fill(client, headers, agent)

        first = (await client.get(url(agent) + "?page=1", headers=headers)).json()
        past = (await client.get(url(agent) + "?page=5", headers=headers)).json()

        assert first["meta"] == {"current_page": 1, "per_page": 20, "total": 3, "last_page": 1}
        assert len(first["data"]) == 3
        assert past["data"] == []
        assert past["meta"]["total"] == 3

    async def test_the_status_filter_applies_to_the_page_and_the_total(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any]
    ) -> None:
        await add(client, headers, agent, "on")
        await add(client, headers, agent, "off", current_status="inactive")
        await add(client, headers, agent, "on too")

        body = (
            await client.get(
                url(agent) + "?current_status=active&per_page=1&page=2", headers=headers
            )
        ).json()

        assert [t["subject"] for t in body["data"]] == ["on too"]
        assert body["meta"]["total"] == 2

    @pytest.mark.parametrize(
        ("query", "errors"),
        [
            ("per_page=0", {"per_page": ["The per page must be between 1 and 100."]}),
            ("per_page=101", {"per_page": ["The per page must be between 1 and 100."]}),
            ("page=0", {"page": ["The page field must be at least 1."]}),
            ("page=1000001", {"page": ["The page field must not be greater than 1000000."]}),
            ("page=" + "9" * 40, {"page": ["The page field must not be greater than 1000000."]}),
            ("per_page=" + "9" * 5000, {"per_page": ["The per page field must be an integer."]}),
            ("page=two", {"page": ["The page field must be an integer."]}),
            ("page=1.5&per_page=-1", {
                "page": ["The page field must be an integer."],
                "per_page": ["The per page must be between 1 and 100."],
            }),
        ],
    )  # fmt: skip
    async def test_bounds_are_422s_in_laravel_wording(
        self,
        client: httpx.AsyncClient,
        headers: dict[str, str],
        agent: dict[str, Any],
        query: str,
        errors: dict[str, list[str]],
    ) -> None:
        response = await client.get(f"{url(agent)}?{query}", headers=headers)

        assert response.status_code == 422
        assert response.json()["errors"] == errors
        assert response.json()["code"] == "VALIDATION_ERROR"

    async def test_another_environments_agent_is_still_a_404(
        self, client: httpx.AsyncClient, agent: dict[str, Any], make_token: TokenFactory
    ) -> None:
        other = bearer(await make_token("other"))

        response = await client.get(url(agent) + "?per_page=5", headers=other)

        assert response.status_code == 404


class TestHugePages:
    @pytest.mark.parametrize("path", ["/api/v1/agents", "/api/v1/agents/{id}/versions"])
    async def test_a_huge_page_on_the_other_lists_is_a_422_not_a_500(
        self, client: httpx.AsyncClient, headers: dict[str, str], agent: dict[str, Any], path: str
    ) -> None:
        response = await client.get(
            path.format(id=agent["id"]) + "?page=" + "9" * 30, headers=headers
        )

        assert response.status_code == 422
        assert response.json()["errors"] == {
            "page": ["The page field must not be greater than 1000000."]
        }
