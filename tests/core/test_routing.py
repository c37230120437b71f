"""`UnitOfWorkRoute` runs its endpoint itself (not through FastAPI's dependency solver): what a
client sees of that, and what a route may declare (anything else is refused at start-up)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, Request

from cuecard.core.routing import UnitOfWorkRoute


def _router() -> APIRouter:
    return APIRouter(route_class=UnitOfWorkRoute)


# Module level: FastAPI reads the (postponed) annotations against the module's globals.
RUNS: list[str] = []


async def shared(request: Request) -> str:
    RUNS.append(request.url.path)
    return "shared"


def blocking(request: Request) -> str:
    return "blocking"


class TestWhatARouteMayDeclare:
    def test_a_query_parameter_of_fastapis_is_refused(self) -> None:
        router = _router()

        with pytest.raises(TypeError, match="query_params"):

            @router.get("/things")
            async def things(limit: int = 10) -> dict[str, int]:
                return {"limit": limit}

    def test_a_body_parameter_of_fastapis_is_refused(self) -> None:
        router = _router()

        with pytest.raises(TypeError, match="json_body"):

            @router.post("/things")
            async def things(body: dict[str, Any]) -> dict[str, Any]:
                return body

    def test_a_plain_def_endpoint_or_dependency_is_refused(self) -> None:
        router = _router()

        with pytest.raises(TypeError, match="async def"):

            @router.get("/things")
            async def things(value: Annotated[str, Depends(blocking)]) -> dict[str, str]:
                return {"value": value}

    def test_a_path_parameter_must_be_a_plain_str(self) -> None:
        router = _router()

        with pytest.raises(TypeError, match="plain str"):

            @router.get("/things/{thing_id}")
            async def thing(thing_id: int) -> dict[str, int]:
                return {"id": thing_id}


class TestWhatAClientSees:
    async def test_a_route_gets_its_path_request_and_a_shared_dependency_run_once(
        self, app: Any, client: httpx.AsyncClient
    ) -> None:
        router = _router()
        RUNS.clear()

        @router.get("/test-routing/{thing_id}", status_code=202)
        async def thing(
            request: Request,
            thing_id: str,
            first: Annotated[str, Depends(shared)],
            second: Annotated[str, Depends(shared)],
        ) -> dict[str, str]:
            return {"id": thing_id, "method": request.method, "first": first, "second": second}

        app.include_router(router)
        answer = await client.get("/test-routing/a%20b")

        assert answer.status_code == 202
        assert answer.json() == {"id": "a b", "method": "GET", "first": "shared",
                                 "second": "shared"}  # fmt: skip
        assert RUNS == ["/test-routing/a b"]

    async def test_one_request_is_counted_once_however_many_dependencies_need_the_caller(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: Any
    ) -> None:
        # A training upsert needs the caller three times (the writer check, the scoped agent,
        # the ETag precondition): one request, one hit against the rate limit.
        agent = await create_agent()
        before = await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)
        created = await client.post(
            f"/api/v1/agents/{agent['id']}/trainings",
            json={"node_id": "faq", "subject": "FAQ", "instructions": "Be brief."},
            headers=headers,
        )

        assert created.status_code in (200, 201), created.text
        assert int(created.headers["X-RateLimit-Remaining"]) == (
            int(before.headers["X-RateLimit-Remaining"]) - 1
        )

    async def test_auth_is_decided_before_the_agent_and_the_agent_before_the_body(
        self, client: httpx.AsyncClient, headers: dict[str, str], create_agent: Any
    ) -> None:
        agent = await create_agent()
        path = f"/api/v1/agents/{agent['id']}/trainings"

        no_token = await client.post(path, content=b"not json")
        no_agent = await client.post(
            "/api/v1/agents/no-such-agent/trainings", content=b"not json", headers=headers
        )
        bad_body = await client.post(path, json={"subject": ""}, headers=headers)

        assert no_token.status_code == 401
        assert no_agent.status_code == 404
        assert bad_body.status_code == 422
        assert bad_body.json()["success"] is False

    async def test_status_code_response_model_and_response_headers_shape_the_answer(
        self, client: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        # Create agent: status_code=201 on the route, an ETag set on the injected Response.
        created = await client.post("/api/v1/agents", json={"name": "Desk"}, headers=headers)
        fetched = await client.get(
            f"/api/v1/agents/{created.json()['data']['id']}", headers=headers
        )

        assert created.status_code == 201, created.text
        assert created.headers["content-type"] == "application/json"
        assert created.json()["success"] is True and created.json()["data"]["name"] == "Desk"
        assert created.headers["ETag"] == fetched.headers["ETag"]
