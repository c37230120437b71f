"""The flow API (Talkover's get/update/validate/list-versions pages), on both databases."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory, bearer
from tests.runtime.helpers import add_training, native, publish, set_flow

CreateAgent = Callable[..., Awaitable[dict[str, Any]]]
Headers = dict[str, str]
Agent = dict[str, Any]

# The flow of Talkover's Get Agent Flow page, completed so that every target exists.
SALES_FLOW: dict[str, Any] = {
    "initial_node_id": "node-greet",
    "meta": {"name": "Sales Qualification Flow", "version": "1.2.0"},
    "nodes": [
        {
            "id": "node-greet",
            "type": "say",
            "content": "Hi! Are you the right person to talk about scheduling?",
            "next": "node-qualify",
        },
        {
            "id": "node-qualify",
            "type": "decision",
            "branches": [
                {"match": "yes", "next": "node-book"},
                {"match": "no", "next": "node-transfer"},
            ],
        },
        {"id": "node-book", "type": "ask", "content": "Which day suits you?", "next": "node-end"},
        {"id": "node-transfer", "type": "transfer", "content": "Let me connect you."},
        {"id": "node-end", "type": "end", "content": "Thanks, goodbye!"},
    ],
    "global_functions": [{"name": "end_conversation", "description": "Ends the call gracefully"}],
}


def flow(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(SALES_FLOW)
    config.update(changes)
    return config


def url(agent: Agent, path: str = "") -> str:
    return f"/api/v1/agents/{agent['id']}/flow{path}"


async def put(client: httpx.AsyncClient, headers: Headers, agent: Agent, body: Any
              ) -> httpx.Response:  # fmt: skip
    return await client.put(url(agent), json=body, headers=headers)


async def validate(client: httpx.AsyncClient, headers: Headers, agent: Agent, config: Any
                   ) -> httpx.Response:  # fmt: skip
    return await client.post(url(agent, "/validate"), json={"flow_config": config}, headers=headers)


async def problems(client: httpx.AsyncClient, headers: Headers, agent: Agent, config: Any
                   ) -> list[str]:  # fmt: skip
    response = await validate(client, headers, agent, config)
    assert response.status_code == 422, response.text
    errors: list[str] = response.json()["errors"]
    return errors


class TestGetAgentFlow:
    async def test_an_agent_starts_llm_driven_with_no_flow(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await client.get(url(agent), headers=headers)
        assert response.status_code == 200
        assert response.json() == {
            "success": True,
            "data": {"conversation_mode": "llm_driven", "flow_config": None},
        }

    async def test_a_read_only_token_can_read_it(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent, make_token: TokenFactory
    ) -> None:
        await set_flow(client, headers, agent["id"], SALES_FLOW)
        reader = bearer(await make_token(read_only=True))
        response = await client.get(url(agent), headers=reader)
        assert response.status_code == 200
        assert response.json()["data"]["flow_config"] == SALES_FLOW
        assert (await client.get(url(agent, "/versions"), headers=reader)).status_code == 200

    async def test_another_environments_agent_is_not_found(
        self, client: httpx.AsyncClient, agent: Agent, make_token: TokenFactory
    ) -> None:
        other = bearer(await make_token("other"))
        for response in (
            await client.get(url(agent), headers=other),
            await client.put(url(agent), json={"conversation_mode": "llm_driven"}, headers=other),
            await client.get(url(agent, "/versions"), headers=other),
            await client.post(url(agent, "/validate"), json={"flow_config": {}}, headers=other),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == "AGENT_NOT_FOUND"


class TestUpdateAgentFlow:
    async def test_a_flow_is_saved_and_read_back_as_sent(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        body = {"conversation_mode": "flow_driven", "flow_config": SALES_FLOW}
        response = await put(client, headers, agent, body)
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True, "data": body}
        assert (await client.get(url(agent), headers=headers)).json()["data"] == body

    async def test_llm_driven_clears_the_flow(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await set_flow(client, headers, agent["id"], SALES_FLOW)
        body = {"conversation_mode": "llm_driven", "flow_config": SALES_FLOW}
        response = await put(client, headers, agent, body)
        assert response.json()["data"] == {"conversation_mode": "llm_driven", "flow_config": None}

    async def test_an_invalid_flow_is_a_422_with_a_list_of_errors_and_saves_nothing(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        config = flow(initial_node_id="node-start")
        config["nodes"][1]["branches"][0]["next"] = "node-bookx"
        body = {"conversation_mode": "flow_driven", "flow_config": config}
        response = await put(client, headers, agent, body)
        assert response.status_code == 422
        assert response.json() == {
            "success": False,
            "message": "Flow validation failed",
            "code": "FLOW_VALIDATION_FAILED",
            "errors": [
                "initial_node_id 'node-start' not found in nodes",
                "Node 'node-qualify' references unknown next node 'node-bookx'",
            ],
        }
        assert (await client.get(url(agent, "/versions"), headers=headers)).json()["data"] == {
            "versions": []
        }

    async def test_flow_driven_needs_a_flow_config(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await put(client, headers, agent, {"conversation_mode": "flow_driven"})
        assert response.status_code == 422
        assert response.json()["errors"] == {
            "flow_config": [
                "The flow config field is required when conversation mode is flow_driven."
            ]
        }

    @pytest.mark.parametrize(
        ("body", "field", "message"),
        [
            ({}, "conversation_mode", "The conversation mode field is required."),
            ({"conversation_mode": "free"}, "conversation_mode",
             "The selected conversation mode is invalid."),
        ],
    )  # fmt: skip
    async def test_the_mode_is_required_and_known(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        agent: Agent,
        body: dict[str, Any],
        field: str,
        message: str,
    ) -> None:
        response = await put(client, headers, agent, body)
        assert response.status_code == 422
        assert response.json()["errors"] == {field: [message]}

    async def test_a_read_only_token_cannot_update_it(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent, make_token: TokenFactory
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        response = await put(client, reader, agent, {"conversation_mode": "llm_driven"})
        assert response.status_code == 403
        assert (await client.get(url(agent, "/versions"), headers=headers)).json()["data"] == {
            "versions": []
        }

    async def test_an_update_does_not_set_the_agent_to_draft(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Tone")
        await publish(client, headers, agent["id"])
        await set_flow(client, headers, agent["id"], SALES_FLOW)
        got = await client.get(f"/api/v1/agents/{agent['id']}", headers=headers)
        assert got.json()["data"]["current_status"] == "published"

    async def test_the_draft_follows_at_once_and_published_after_a_publish(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await add_training(client, headers, agent["id"], subject="Tone")
        assert await publish(client, headers, agent["id"]) == 1
        await native(client, headers, agent["id"], "published")  # cached
        await set_flow(client, headers, agent["id"], SALES_FLOW)

        assert (await native(client, headers, agent["id"]))["conversation_mode"] == "flow_driven"
        published = await native(client, headers, agent["id"], "published")
        assert published["conversation_mode"] == "llm_driven"
        # The agent is still published, yet its flow changed: publish makes version 2.
        assert await publish(client, headers, agent["id"]) == 2
        published = await native(client, headers, agent["id"], "published")
        assert published["flow"]["initial_node"] == "node-greet"
        # Nothing changed since: publishing again is the documented no-op.
        assert await publish(client, headers, agent["id"]) == 2


class TestValidateAgentFlow:
    async def test_a_valid_flow(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await validate(client, headers, agent, SALES_FLOW)
        assert response.status_code == 200
        assert response.json() == {"success": True, "message": "Flow is valid"}

    async def test_the_documented_example_is_valid(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        config = {
            "initial_node_id": "node-greet",
            "nodes": [
                {"id": "node-greet", "type": "say", "content": "Hi!", "next": "node-end"},
                {"id": "node-end", "type": "end"},
            ],
        }
        assert (await validate(client, headers, agent, config)).status_code == 200

    async def test_it_changes_nothing(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await validate(client, headers, agent, SALES_FLOW)
        flow_now = (await client.get(url(agent), headers=headers)).json()["data"]
        assert flow_now == {"conversation_mode": "llm_driven", "flow_config": None}

    async def test_duplicate_and_unreachable_nodes(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        config = {
            "initial_node_id": "node-greet",
            "nodes": [
                {"id": "node-greet", "type": "say", "content": "Hi!", "next": "node-greet"},
                {"id": "node-greet", "type": "end"},
                {"id": "node-end", "type": "end"},
            ],
        }
        assert await problems(client, headers, agent, config) == [
            "Duplicate node id: 'node-greet'",
            "Node 'node-end' is unreachable",
        ]

    async def test_the_invalid_body_has_the_documented_shape(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await validate(client, headers, agent, {"nodes": []})
        body = response.json()
        assert body["success"] is False and body["message"] == "Flow validation failed"
        assert body["errors"] == ["initial_node_id is required", "nodes must be a non-empty array"]

    @pytest.mark.parametrize(
        ("node", "error"),
        [
            ({"type": "say", "next": "node-end"}, "Node 'x' of type 'say' requires 'content'"),
            ({"type": "say", "content": "Hi"}, "Node 'x' of type 'say' requires 'next'"),
            ({"type": "ask", "next": "node-end"}, "Node 'x' of type 'ask' requires 'content'"),
            ({"type": "ask", "content": "Why?"},
             "Node 'x' of type 'ask' requires 'next' or 'branches'"),
            ({"type": "decision"}, "Node 'x' of type 'decision' requires 'branches'"),
            ({"type": "decision", "branches": [{"match": "yes"}]},
             "Node 'x' branch 0 requires 'next'"),
            ({"type": "decision", "branches": [{"next": "node-end"}]},
             "Node 'x' branch 0 requires 'match'"),
            ({"type": "action", "next": "node-end"},
             "Node 'x' of type 'action' requires 'action_id'"),
            ({"type": "action", "action_id": "a"}, "Node 'x' of type 'action' requires 'next'"),
            ({"type": "jump"}, "Node 'x' has invalid type 'jump' (expected one of: say, ask, "
             "decision, action, transfer, end)"),
            ({}, "Node 'x' is missing 'type'"),
            ({"type": "say", "content": 5, "next": "node-end"},
             "Node 'x' field 'content' must be a string"),
        ],
    )  # fmt: skip
    async def test_required_fields_per_node_type(
        self,
        client: httpx.AsyncClient,
        headers: Headers,
        agent: Agent,
        node: dict[str, Any],
        error: str,
    ) -> None:
        config = {
            "initial_node_id": "x",
            "nodes": [{"id": "x", **node}, {"id": "node-end", "type": "end"}],
        }
        found = await problems(client, headers, agent, config)
        assert error in found

    @pytest.mark.parametrize("kind", ["transfer", "end"])
    async def test_transfer_and_end_need_nothing_more(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent, kind: str
    ) -> None:
        config = {"initial_node_id": "x", "nodes": [{"id": "x", "type": kind}]}
        assert (await validate(client, headers, agent, config)).status_code == 200

    @pytest.mark.parametrize(
        ("config", "error"),
        [
            ("a flow", "flow_config must be an object"),
            ({"initial_node_id": "x", "nodes": "x"}, "nodes must be a non-empty array"),
            ({"initial_node_id": "x", "nodes": [5]}, "Node at index 0 must be an object"),
            ({"initial_node_id": "x", "nodes": [{"type": "end"}]},
             "Node at index 0 is missing 'id'"),
            ({"initial_node_id": "x", "nodes": [{"id": "x", "type": "end"}],
              "global_functions": [{"name": "end"}, {"name": "end"}]},
             "Duplicate global function: 'end'"),
            ({"initial_node_id": "x", "nodes": [{"id": "x", "type": "end"}],
              "global_functions": [{"description": "d"}]}, "global_functions[0] requires 'name'"),
            ({"initial_node_id": "x", "nodes": [{"id": "x", "type": "end"}],
              "global_functions": [{"name": "hang up"}]},
             "Global function name 'hang up' must be 1 to 64 letters, digits, '_' or '-'"),
            ({"initial_node_id": "x", "nodes": [{"id": "x", "type": "end"}], "meta": "v1"},
             "meta must be an object with string 'name' and 'version'"),
            ({"initial_node_id": "x", "nodes": [{"id": str(i), "type": "end"} for i in range(501)]},
             "nodes has more than 500 entries"),
        ],
    )  # fmt: skip
    async def test_the_shape_of_the_flow(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent, config: Any, error: str
    ) -> None:
        assert error in await problems(client, headers, agent, config)

    async def test_a_read_only_token_can_validate(
        self, client: httpx.AsyncClient, agent: Agent, make_token: TokenFactory
    ) -> None:
        reader = bearer(await make_token(read_only=True))
        assert (await validate(client, reader, agent, SALES_FLOW)).status_code == 200

    async def test_flow_config_is_required(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        response = await client.post(url(agent, "/validate"), json={}, headers=headers)
        assert response.status_code == 422
        assert response.json()["errors"] == {"flow_config": ["The flow config field is required."]}


class TestListAgentFlowVersions:
    async def test_every_save_is_a_version_newest_first_and_one_is_current(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await set_flow(client, headers, agent["id"], flow(meta={"name": "A", "version": "1.0.0"}))
        await set_flow(client, headers, agent["id"], flow(meta={"name": "A"}))
        await set_flow(client, headers, agent["id"], None)

        response = await client.get(url(agent, "/versions"), headers=headers)

        assert response.status_code == 200
        versions = response.json()["data"]["versions"]
        assert [(v["version"], v["number"], v["is_current"]) for v in versions] == [
            ("3", 3, True),
            ("2", 2, False),
            ("1.0.0", 1, False),
        ]
        assert [v["conversation_mode"] for v in versions] == [
            "llm_driven", "flow_driven", "flow_driven",
        ]  # fmt: skip
        assert set(versions[0]) == {
            "id", "version", "number", "conversation_mode", "created_at", "is_current",
        }  # fmt: skip
        assert versions[0]["created_at"].endswith("Z")

    async def test_an_old_version_can_be_fetched_and_resubmitted(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        await set_flow(client, headers, agent["id"], SALES_FLOW)
        await set_flow(client, headers, agent["id"], None)
        oldest = (await client.get(url(agent, "/versions"), headers=headers)).json()["data"][
            "versions"
        ][-1]

        got = await client.get(url(agent, f"/versions/{oldest['id']}"), headers=headers)
        assert got.status_code == 200
        detail = got.json()["data"]
        assert detail["flow_config"] == SALES_FLOW and detail["is_current"] is False
        body = {
            "conversation_mode": detail["conversation_mode"],
            "flow_config": detail["flow_config"],
        }
        assert (await put(client, headers, agent, body)).status_code == 200
        assert (await client.get(url(agent), headers=headers)).json()["data"] == body

    async def test_an_unknown_version_is_not_found(
        self, client: httpx.AsyncClient, headers: Headers, agent: Agent
    ) -> None:
        for flow_version in ("00000000-0000-0000-0000-000000000000", "x" * 300):
            got = await client.get(url(agent, f"/versions/{flow_version}"), headers=headers)
            assert got.status_code == 404
            assert got.json()["code"] == "FLOW_VERSION_NOT_FOUND"
